import pino, { type Logger } from 'pino';

/** JSON logs; tokens and secrets are redacted wherever they appear in logged objects. */
export function createLogger(level: string, name = 'cws'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'token',
        '*.token',
        'headers.authorization',
        '*.headers.authorization',
        'SLACK_BOT_TOKEN',
        'SLACK_SIGNING_SECRET',
        'SLACK_APP_TOKEN',
        '*.password',
      ],
      censor: '[redacted]',
    },
  });
}

/** Adapter so Bolt logs through pino (Bolt wants @slack/logger's interface). */
export function boltLogger(logger: Logger) {
  let level = logger.level;
  return {
    debug: (...m: unknown[]) => logger.debug(m.map(String).join(' ')),
    info: (...m: unknown[]) => logger.info(m.map(String).join(' ')),
    warn: (...m: unknown[]) => logger.warn(m.map(String).join(' ')),
    error: (...m: unknown[]) => logger.error(m.map(String).join(' ')),
    setLevel: (l: string) => {
      level = l;
    },
    getLevel: () => level as never,
    setName: () => {},
  };
}

/**
 * The agent image's `/bin/sh` (dash: the image is `FROM ubuntu`, test/fixtures/selftest/SOURCES.md §5.4),
 * as far as a client may need it: `sh -c SCRIPT [NAME [ARG…]]` running simple commands joined by `;`,
 * newlines, `&&` and `||`; single and double quotes, backslash escapes, `#` comments; `$?`, `$0`…`$9`,
 * `$NAME` and `${NAME}`; `NAME=value` assignments; the redirection `>&2` (`1>&2`); the builtins `echo`,
 * `exit`, `exec`, `[`/`test`, `true`, `false` and `:`. Every other command is looked up in the
 * container's binaries (exec-registry.ts), as `PATH` lookup would find it.
 *
 * It answers as dash does: `sh: 1: NAME: not found` (127), `sh: 1: exec: NAME: not found`,
 * `sh: 1: Syntax error: …` (2), `[: Illegal number: …` (2), and like dash it parses and runs the
 * script one line at a time (an error on line 2 comes after line 1 ran). What it does not model
 * (pipes, `&`, other redirections, `$(…)`, backquotes, globbing, `if`/`for`/`while`/`case`, functions,
 * `VAR=x cmd`) it refuses with exit 2 and says so on stderr: a stand-in must not accept more than the
 * real shell, and here it may accept less, loudly.
 */
import type { ExecContext, ExecOutput } from './exec-registry.ts';

const EXIT_SYNTAX = 2;
const EXIT_NOT_FOUND = 127;

type Part = { readonly text: string; readonly quoted: boolean } | { readonly param: string; readonly quoted: boolean };
interface Word {
  readonly parts: readonly Part[];
}
type Token =
  | { readonly kind: 'word'; readonly word: Word; readonly line: number }
  | { readonly kind: 'op'; readonly op: ';' | '&&' | '||' | '>&2'; readonly line: number };

class Unsupported extends Error {}
class SyntaxError_ extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message);
  }
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const RESERVED = new Set(['if', 'then', 'else', 'elif', 'fi', 'for', 'while', 'until', 'do', 'done', 'case', 'esac', '!', '{', '}', 'in', 'function']);

/** Splits one line (or more, when quotes span newlines) into tokens; returns the tokens and where the next line starts. */
function tokenizeLine(src: string, start: number, firstLine: number): { tokens: Token[]; next: number; lines: number } {
  const tokens: Token[] = [];
  let i = start;
  let lines = 1;
  let parts: Part[] | undefined;
  let wordLine = firstLine;
  const lit = (text: string, quoted: boolean) => {
    if (!parts) wordLine = firstLine + lines - 1;
    const last = (parts ??= []).at(-1);
    if (last && 'text' in last && last.quoted === quoted) parts[parts.length - 1] = { text: last.text + text, quoted };
    else parts.push({ text, quoted });
  };
  const endWord = () => {
    if (parts) tokens.push({ kind: 'word', word: { parts }, line: wordLine });
    parts = undefined;
  };
  const dollar = (quoted: boolean): void => {
    // i at '$'
    const rest = src.slice(i + 1);
    if (rest.startsWith('(')) throw new Unsupported('command substitution $(…)');
    if (rest.startsWith('{')) {
      const close = rest.indexOf('}');
      const name = close > 0 ? rest.slice(1, close) : '';
      if (!NAME.test(name) || NAME.exec(name)![0] !== name) {
        if (close < 0) throw new SyntaxError_("Missing '}'", firstLine + lines - 1);
        throw new Unsupported(`parameter expansion \${${name}}`);
      }
      if (!parts) wordLine = firstLine + lines - 1;
      (parts ??= []).push({ param: name, quoted });
      i += close + 2;
      return;
    }
    const m = NAME.exec(rest);
    if (m) {
      if (!parts) wordLine = firstLine + lines - 1;
      (parts ??= []).push({ param: m[0], quoted });
      i += 1 + m[0].length;
      return;
    }
    const c = rest[0];
    if (c !== undefined && /[?0-9]/.test(c)) {
      if (!parts) wordLine = firstLine + lines - 1;
      (parts ??= []).push({ param: c, quoted });
      i += 2;
      return;
    }
    if (c !== undefined && /[#@*$!-]/.test(c)) throw new Unsupported(`special parameter $${c}`);
    lit('$', quoted);
    i += 1;
  };

  while (i < src.length) {
    const c = src[i]!;
    if (c === '\n') {
      endWord();
      const last = tokens.at(-1);
      // An and-or list goes on after a newline that follows && or ||.
      if (last?.kind === 'op' && (last.op === '&&' || last.op === '||')) {
        lines++;
        i++;
        continue;
      }
      return { tokens, next: i + 1, lines };
    }
    if (c === ' ' || c === '\t') {
      endWord();
      i++;
      continue;
    }
    if (c === '#' && !parts) {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    if (c === '\\') {
      if (src[i + 1] === '\n') {
        i += 2;
        lines++;
        continue;
      }
      if (i + 1 < src.length) lit(src[i + 1]!, true);
      i += 2;
      continue;
    }
    if (c === "'") {
      const close = src.indexOf("'", i + 1);
      if (close < 0) throw new SyntaxError_('Unterminated quoted string', firstLine + lines - 1);
      const text = src.slice(i + 1, close);
      lit(text, true);
      lines += text.split('\n').length - 1;
      i = close + 1;
      continue;
    }
    if (c === '"') {
      i++;
      lit('', true);
      for (;;) {
        if (i >= src.length) throw new SyntaxError_('Unterminated quoted string', firstLine + lines - 1);
        const d = src[i]!;
        if (d === '"') {
          i++;
          break;
        }
        if (d === '`') throw new Unsupported('command substitution `…`');
        if (d === '$') {
          dollar(true);
          continue;
        }
        if (d === '\\' && i + 1 < src.length && '$`"\\\n'.includes(src[i + 1]!)) {
          if (src[i + 1] === '\n') lines++;
          else lit(src[i + 1]!, true);
          i += 2;
          continue;
        }
        if (d === '\n') lines++;
        lit(d, true);
        i++;
      }
      continue;
    }
    if (c === '$') {
      dollar(false);
      continue;
    }
    if (c === '`') throw new Unsupported('command substitution `…`');
    if (c === ';') {
      if (src[i + 1] === ';') throw new SyntaxError_('";;" unexpected', firstLine + lines - 1);
      endWord();
      tokens.push({ kind: 'op', op: ';', line: firstLine + lines - 1 });
      i++;
      continue;
    }
    if (c === '&' || c === '|') {
      endWord();
      if (src[i + 1] === c) {
        tokens.push({ kind: 'op', op: c === '&' ? '&&' : '||', line: firstLine + lines - 1 });
        i += 2;
        continue;
      }
      throw new Unsupported(c === '|' ? 'pipelines (|)' : 'background jobs (&)');
    }
    if (c === '>' || c === '<' || (/[0-9]/.test(c) && !parts && /^[0-9]+[<>]/.test(src.slice(i)))) {
      const m = /^(1?)>&2/.exec(src.slice(i));
      if (m && !parts) {
        tokens.push({ kind: 'op', op: '>&2', line: firstLine + lines - 1 });
        i += m[0].length;
        continue;
      }
      throw new Unsupported(`the redirection ${/^[0-9]*[<>]+&?[0-9-]*/.exec(src.slice(i))![0]}`);
    }
    if (c === '(' || c === ')') {
      endWord();
      throw new SyntaxError_(`"${c}" unexpected`, firstLine + lines - 1);
    }
    if (c === '*' || c === '?') throw new Unsupported('pathname expansion (* and ?)');
    lit(c, false);
    i++;
  }
  endWord();
  return { tokens, next: i, lines };
}

interface SimpleCommand {
  readonly words: Word[];
  readonly toStderr: boolean;
  readonly line: number | undefined;
}
interface AndOr {
  readonly first: SimpleCommand;
  readonly rest: { readonly op: '&&' | '||'; readonly cmd: SimpleCommand }[];
}

function parseLine(tokens: Token[], lastLine: number): AndOr[] {
  const lists: AndOr[] = [];
  let i = 0;
  const command = (): SimpleCommand => {
    const words: Word[] = [];
    let toStderr = false;
    let line: number | undefined;
    while (i < tokens.length) {
      const t = tokens[i]!;
      if (t.kind === 'op' && t.op === '>&2') {
        toStderr = true;
        i++;
        continue;
      }
      if (t.kind === 'op') break;
      line ??= t.line;
      words.push(t.word);
      i++;
    }
    if (words.length === 0 && !toStderr) {
      const t = tokens[i];
      throw t?.kind === 'op' ? new SyntaxError_(`"${t.op}" unexpected`, t.line) : new SyntaxError_('end of file unexpected', lastLine);
    }
    const head = words[0] && literal(words[0]);
    if (head !== undefined && RESERVED.has(head)) throw new Unsupported(`the compound command "${head}"`);
    return { words, toStderr, line };
  };
  while (i < tokens.length) {
    const first = command();
    const rest: AndOr['rest'] = [];
    while (tokens[i]?.kind === 'op' && (tokens[i] as { op: string }).op !== ';') {
      const op = (tokens[i] as { op: '&&' | '||' }).op;
      i++;
      if (i >= tokens.length) throw new SyntaxError_('end of file unexpected', lastLine);
      rest.push({ op, cmd: command() });
    }
    lists.push({ first, rest });
    if (tokens[i]?.kind === 'op') i++; // ';'
  }
  return lists;
}

/** The word as written, when it is all unquoted literal text (reserved words are recognised only so). */
function literal(w: Word): string | undefined {
  let s = '';
  for (const p of w.parts) {
    if (!('text' in p) || p.quoted) return undefined;
    s += p.text;
  }
  return s;
}

interface Shell {
  readonly ctx: ExecContext;
  readonly name: string;
  readonly positional: readonly string[];
  readonly vars: Map<string, string>;
  status: number;
  line: number;
}

class ExitShell extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** Expands a word into fields: quoted parts stay whole; unquoted expansions split on blanks, and an empty one yields nothing. */
function expand(sh: Shell, w: Word): string[] {
  const fields: string[] = [];
  let cur: string | undefined;
  for (const p of w.parts) {
    if ('text' in p) {
      cur = (cur ?? '') + p.text;
      continue;
    }
    const v = paramValue(sh, p.param);
    if (p.quoted) {
      cur = (cur ?? '') + v;
      continue;
    }
    const pieces = v.split(/[ \t\n]+/);
    pieces.forEach((piece, k) => {
      if (k > 0) {
        if (cur !== undefined && cur !== '') fields.push(cur);
        cur = undefined;
      }
      if (piece !== '') cur = (cur ?? '') + piece;
    });
  }
  if (cur !== undefined) fields.push(cur);
  return fields;
}

function paramValue(sh: Shell, name: string): string {
  if (name === '?') return String(sh.status);
  if (name === '0') return sh.name;
  if (/^[1-9]$/.test(name)) return sh.positional[Number(name) - 1] ?? '';
  return sh.vars.get(name) ?? '';
}

function err(sh: Shell, message: string): void {
  sh.ctx.stderr.write(`${sh.name}: ${sh.line}: ${message}\n`);
}

async function runCommand(sh: Shell, cmd: SimpleCommand): Promise<number> {
  sh.ctx.signal.throwIfAborted();
  if (cmd.line !== undefined) sh.line = cmd.line;
  const argv: string[] = [];
  const assignments: [string, string][] = [];
  for (const w of cmd.words) {
    const lit = w.parts[0] && 'text' in w.parts[0] && !w.parts[0].quoted ? w.parts[0].text : '';
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(lit);
    if (argv.length === 0 && m) {
      const value = expand(sh, { parts: [{ text: lit.slice(m[0].length), quoted: true }, ...w.parts.slice(1).map((p) => ({ ...p, quoted: true }))] });
      assignments.push([m[1]!, value.join('')]);
      continue;
    }
    argv.push(...expand(sh, w));
  }
  if (argv.length > 0 && assignments.length > 0) throw new Unsupported('assignments before a command (NAME=value cmd)');
  for (const [k, v] of assignments) sh.vars.set(k, v);
  if (argv.length === 0) return 0;
  const out: ExecOutput = cmd.toStderr ? sh.ctx.stderr : sh.ctx.stdout;
  const [name, ...args] = argv as [string, ...string[]];
  switch (name) {
    case 'echo':
      return echo(out, args);
    case 'true':
    case ':':
      return 0;
    case 'false':
      return 1;
    case 'exit': {
      const a = args[0];
      if (a === undefined) throw new ExitShell(sh.status);
      if (!/^[0-9]+$/.test(a)) {
        err(sh, `exit: Illegal number: ${a}`);
        throw new ExitShell(EXIT_SYNTAX);
      }
      throw new ExitShell(Number(a) & 0xff);
    }
    case '[':
    case 'test':
      return test(sh, name, args);
    case 'exec': {
      if (args.length === 0) return 0;
      const code = await external(sh, args, out, true);
      throw new ExitShell(code);
    }
    default:
      return external(sh, argv, out, false);
  }
}

async function external(sh: Shell, argv: string[], out: ExecOutput, viaExec: boolean): Promise<number> {
  const handler = sh.ctx.state.exec.resolve(sh.ctx.container, argv, sh.ctx.pod);
  if (!handler) {
    err(sh, `${viaExec ? 'exec: ' : ''}${argv[0]}: not found`);
    return EXIT_NOT_FOUND;
  }
  return handler({ ...sh.ctx, argv, stdout: out });
}

function echo(out: ExecOutput, args: string[]): number {
  let newline = true;
  if (args[0] === '-n') {
    newline = false;
    args = args.slice(1);
  }
  let text = args.join(' ');
  // dash's echo always interprets backslash escapes; \c ends the output.
  const stop = text.indexOf('\\c');
  if (stop >= 0) {
    text = text.slice(0, stop);
    newline = false;
  }
  text = text.replace(/\\([\\abfnrtv]|0[0-7]{0,3})/g, (_, e: string) =>
    e.startsWith('0')
      ? String.fromCharCode(parseInt(e.slice(1) || '0', 8))
      : ({ '\\': '\\', a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v' } as Record<string, string>)[e]!,
  );
  out.write(newline ? `${text}\n` : text);
  return 0;
}

const INT_OPS: Record<string, (a: number, b: number) => boolean> = {
  '-eq': (a, b) => a === b,
  '-ne': (a, b) => a !== b,
  '-lt': (a, b) => a < b,
  '-le': (a, b) => a <= b,
  '-gt': (a, b) => a > b,
  '-ge': (a, b) => a >= b,
};

function test(sh: Shell, name: string, args: string[]): number {
  if (name === '[') {
    if (args.at(-1) !== ']') {
      err(sh, '[: missing ]');
      return EXIT_SYNTAX;
    }
    args = args.slice(0, -1);
  }
  const int = (s: string): number | undefined => {
    if (/^\s*-?[0-9]+\s*$/.test(s)) return Number(s);
    err(sh, `${name}: Illegal number: ${s}`);
    return undefined;
  };
  let negate = false;
  if (args.length > 1 && args[0] === '!') {
    negate = true;
    args = args.slice(1);
  }
  const verdict = (b: boolean) => (b !== negate ? 0 : 1);
  if (args.length === 0) return verdict(false);
  if (args.length === 1) return verdict(args[0] !== '');
  if (args.length === 2) {
    if (args[0] === '-n') return verdict(args[1] !== '');
    if (args[0] === '-z') return verdict(args[1] === '');
    if (INT_OPS[args[1]!] || args[1] === '=' || args[1] === '!=') err(sh, `${name}: ${args[1]}: argument expected`);
    else err(sh, `${name}: ${args[0]}: unexpected operator`);
    return EXIT_SYNTAX;
  }
  if (args.length === 3) {
    const [a, op, b] = args as [string, string, string];
    if (op === '=') return verdict(a === b);
    if (op === '!=') return verdict(a !== b);
    const f = INT_OPS[op];
    if (f) {
      const x = int(a);
      const y = x === undefined ? undefined : int(b);
      return x === undefined || y === undefined ? EXIT_SYNTAX : verdict(f(x, y));
    }
    err(sh, `${name}: ${a}: unexpected operator`);
    return EXIT_SYNTAX;
  }
  throw new Unsupported(`${name} with ${args.length} arguments (-a, -o, parentheses)`);
}

/** `sh -c SCRIPT [NAME [ARG…]]`: see the file comment. */
export async function runShell(ctx: ExecContext): Promise<number> {
  const [argv0, flag, script, ...rest] = ctx.argv;
  const shellName = argv0 ?? 'sh';
  if (flag !== '-c' || script === undefined) {
    ctx.stderr.write(
      flag === '-c'
        ? `${shellName}: 0: -c requires an argument\n`
        : `${shellName}: the simulator runs only \`sh -c SCRIPT\` (no interactive shell, no script files, no other options)\n`,
    );
    return EXIT_SYNTAX;
  }
  const sh: Shell = { ctx, name: rest[0] ?? shellName, positional: rest.slice(1), vars: new Map(), status: 0, line: 1 };
  let pos = 0;
  let lineNo = 1;
  try {
    while (pos < script.length) {
      ctx.signal.throwIfAborted();
      let line: ReturnType<typeof tokenizeLine>;
      let lists: AndOr[];
      try {
        line = tokenizeLine(script, pos, lineNo);
        lists = parseLine(line.tokens, lineNo + line.lines - 1);
      } catch (e) {
        if (e instanceof SyntaxError_) {
          if (e.line !== undefined) sh.line = e.line;
          err(sh, `Syntax error: ${e.message}`);
          return EXIT_SYNTAX;
        }
        throw e;
      }
      for (const list of lists) {
        sh.status = await runCommand(sh, list.first);
        for (const { op, cmd } of list.rest) {
          if ((op === '&&') === (sh.status === 0)) sh.status = await runCommand(sh, cmd);
        }
      }
      lineNo += line.lines;
      sh.line = lineNo;
      pos = line.next;
    }
    return sh.status;
  } catch (e) {
    if (e instanceof ExitShell) return e.code;
    if (e instanceof Unsupported) {
      err(sh, `simulator sh: ${e.message} is not supported`);
      return EXIT_SYNTAX;
    }
    throw e;
  }
}

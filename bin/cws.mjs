#!/usr/bin/env node
// `npx cws <same grammar as /cws>`: the operator CLI. TypeScript sources run through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

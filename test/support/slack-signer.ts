export * from '../../src/sandbox/signer.ts';

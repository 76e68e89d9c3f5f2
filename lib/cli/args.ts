/** Argument helpers shared by the commands (node:util's parseArgs does the parsing). */
import type { ParseArgsConfig } from 'node:util';

const NEGATIVE_NUMBER = /^-(\d|\.\d|inf)/i;

/**
 * `--flag -1` becomes `--flag=-1` for the options that take a value, so that a negative number reaches the
 * command's own check ("--seed must be ..., got: -1") instead of parseArgs' "argument is ambiguous".
 */
export function attachNegativeValues(args: readonly string[], options: NonNullable<ParseArgsConfig['options']>): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (arg.startsWith('--') && !arg.includes('=') && options[arg.slice(2)]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

/** The default branch of an exhaustive switch: unreachable while every variant is handled. */
export function assertNever(x: never): never {
  throw new Error(`unhandled variant: ${JSON.stringify(x)}`);
}

/**
 * The longest event log line procreg writes or reads: 16 MiB, without its newline. A
 * config-loaded line of a 1000-service config is well under 1 MiB; a config whose line would
 * be over half of this is refused (MAX_CONFIG_LINE_BYTES), so that a snapshot of the registry
 * (the config once, plus a few hundred bytes per service) fits too. A longer line in a log is
 * reported as invalid and skipped, never held in memory whole.
 */
export const MAX_LINE_BYTES = 16 * 1024 * 1024;

/** The longest config-loaded line: half the line limit, leaving room for a snapshot. */
export const MAX_CONFIG_LINE_BYTES = MAX_LINE_BYTES / 2;

/** "16 MiB (16777216 bytes)", for messages. */
export const describeLimit = (bytes: number): string => `${bytes / (1024 * 1024)} MiB (${bytes} bytes)`;

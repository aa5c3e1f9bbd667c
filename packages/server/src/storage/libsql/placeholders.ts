/** `?, ?, …`, one per value. */
export const placeholders = (values: unknown[]) => values.map(() => "?").join(", ");

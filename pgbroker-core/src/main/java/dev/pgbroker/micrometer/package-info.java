/**
 * Micrometer meters for pgbroker: bind {@link dev.pgbroker.micrometer.PgBrokerMetrics} to an
 * application's registry. Needs {@code io.micrometer:micrometer-core} on the class path, which
 * pgbroker-core declares optional.
 */
package dev.pgbroker.micrometer;

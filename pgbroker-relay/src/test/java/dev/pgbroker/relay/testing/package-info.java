/**
 * Real brokers for tests and the benchmark: the machine's RabbitMQ, started or installed when
 * missing, and an in-process KRaft Kafka broker. Not API.
 */
package dev.pgbroker.relay.testing;

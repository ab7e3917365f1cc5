/**
 * The HTTP face of pgbroker: a JSON API under {@code /v1}, the dashboard, {@code /metrics} and
 * {@code /health}, on the JDK's own HTTP server. {@link dev.pgbroker.server.http.HttpApi} starts
 * it; everything else here is package-private.
 */
package dev.pgbroker.server.http;

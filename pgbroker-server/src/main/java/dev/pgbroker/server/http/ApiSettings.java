package dev.pgbroker.server.http;

import java.util.List;

/**
 * How {@link HttpApi} listens and whom it lets in.
 *
 * @param bindAddress the address to listen on, e.g. {@code 127.0.0.1} or {@code 0.0.0.0}
 * @param port 0 to 65535; 0 picks a free port
 * @param adminTokens bearer tokens that may read and change everything; at least one
 * @param readTokens bearer tokens that may only read (stats, dead letters, metrics, dashboard)
 * @param maxBodyBytes largest request body accepted, 1 KiB to 64 MiB
 */
public record ApiSettings(
    String bindAddress,
    int port,
    List<String> adminTokens,
    List<String> readTokens,
    int maxBodyBytes) {
  public static final String DEFAULT_BIND_ADDRESS = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;

  /** Room for a 1 MiB payload (the queues' default limit) as escaped JSON, plus options. */
  public static final int DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

  public static final int MIN_TOKEN_CHARS = 16;

  public ApiSettings {
    if (bindAddress == null || bindAddress.isBlank()) {
      throw new IllegalArgumentException("bind address must not be empty");
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException("port must be from 0 to 65535, was " + port);
    }
    adminTokens = List.copyOf(adminTokens);
    readTokens = List.copyOf(readTokens);
    if (adminTokens.isEmpty()) {
      throw new IllegalArgumentException(
          "at least one admin token is needed; the API refuses every request without a token");
    }
    for (String t : adminTokens) {
      checkToken("admin token", t);
    }
    for (String t : readTokens) {
      checkToken("read-only token", t);
    }
    if (maxBodyBytes < 1024 || maxBodyBytes > 64 * 1024 * 1024) {
      throw new IllegalArgumentException(
          "max body bytes must be from 1024 to 67108864, was " + maxBodyBytes);
    }
  }

  private static void checkToken(String what, String token) {
    if (token == null || token.length() < MIN_TOKEN_CHARS || !token.matches("[\\x21-\\x7e]+")) {
      throw new IllegalArgumentException(
          what
              + " must be at least "
              + MIN_TOKEN_CHARS
              + " printable ASCII characters without spaces, was "
              + (token == null ? "null" : token.length() + " characters"));
    }
  }
}

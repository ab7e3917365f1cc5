package dev.pgbroker.server.http;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.List;

/**
 * Checks bearer tokens. Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual},
 * against every configured token without stopping at a match, so the time taken tells nothing about
 * how much of a guess was right or which token matched.
 */
final class Auth {
  enum Scope {
    READ,
    ADMIN
  }

  private static final String PREFIX = "Bearer ";

  private final List<byte[]> admin;
  private final List<byte[]> read;

  Auth(List<String> adminTokens, List<String> readTokens) {
    this.admin = adminTokens.stream().map(Auth::digest).toList();
    this.read = readTokens.stream().map(Auth::digest).toList();
  }

  /** The scope the request's token grants; refuses a missing or unknown token. */
  Scope scopeOf(String authorization) {
    if (authorization == null
        || !authorization.regionMatches(true, 0, PREFIX, 0, PREFIX.length())) {
      throw new ApiError(
          401,
          "unauthorized",
          "missing bearer token: send the header 'Authorization: Bearer <token>'");
    }
    byte[] given = digest(authorization.substring(PREFIX.length()).trim());
    boolean isAdmin = matchesAny(admin, given);
    boolean isRead = matchesAny(read, given);
    if (isAdmin) {
      return Scope.ADMIN;
    }
    if (isRead) {
      return Scope.READ;
    }
    throw new ApiError(401, "unauthorized", "the bearer token is not one this server accepts");
  }

  private static boolean matchesAny(List<byte[]> tokens, byte[] given) {
    boolean match = false;
    for (byte[] t : tokens) {
      match |= MessageDigest.isEqual(t, given);
    }
    return match;
  }

  private static byte[] digest(String token) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JDK has SHA-256", e);
    }
  }
}

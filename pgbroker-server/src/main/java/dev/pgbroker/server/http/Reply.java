package dev.pgbroker.server.http;

import java.nio.charset.StandardCharsets;

/**
 * What a route answers: a status and either a value to write as JSON or ready bytes; {@code
 * location} only for a redirect.
 */
record Reply(int status, Object json, byte[] bytes, String contentType, String location) {
  static Reply ok(Object json) {
    return new Reply(200, json, null, null, null);
  }

  static Reply of(int status, Object json) {
    return new Reply(status, json, null, null, null);
  }

  static Reply bytes(byte[] bytes, String contentType) {
    return new Reply(200, null, bytes, contentType, null);
  }

  static Reply text(String text, String contentType) {
    return bytes(text.getBytes(StandardCharsets.UTF_8), contentType);
  }

  static Reply redirect(String location) {
    return new Reply(302, null, new byte[0], "text/plain", location);
  }
}

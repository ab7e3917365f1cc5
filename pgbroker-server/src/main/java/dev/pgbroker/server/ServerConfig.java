package dev.pgbroker.server;

import dev.pgbroker.Broker;
import dev.pgbroker.server.http.ApiSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;

/**
 * {@code pgbroker server}'s settings: a properties file, each key overridable by an environment
 * variable ({@code http.port} by {@code PGBROKER_HTTP_PORT}: upper case, dots and dashes as
 * underscores). Keys under {@code relay.} go to the relay as they are; it reads its own environment
 * overrides.
 *
 * @param relay the {@code relay.} keys, or null when neither the file nor the environment has any
 */
record ServerConfig(
    String dbUrl,
    String schema,
    int poolSize,
    ApiSettings api,
    boolean generatedToken,
    Properties relay) {
  static final List<String> KEYS =
      List.of(
          "db.url",
          "db.pool-size",
          "schema",
          "http.bind",
          "http.port",
          "http.admin-tokens",
          "http.read-tokens",
          "http.max-body-bytes");
  static final int DEFAULT_POOL_SIZE = 20;

  /** Reads the file (may be null: environment only) with the environment's overrides. */
  static ServerConfig load(Path file, Map<String, String> env) {
    Properties p = new Properties();
    if (file != null) {
      try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
        p.load(r);
      } catch (IOException e) {
        throw new CommandFailure("cannot read --config " + file + ": " + e.getMessage(), e);
      }
    }
    for (String key : p.stringPropertyNames()) {
      if (!KEYS.contains(key) && !key.startsWith("relay.")) {
        throw new CommandFailure(
            "unknown setting '"
                + key
                + "' in "
                + file
                + "; known: "
                + String.join(", ", KEYS)
                + " and relay.*");
      }
    }
    for (String key : KEYS) {
      String v = env.get(environmentName(key));
      if (v != null) {
        p.setProperty(key, v);
      }
    }
    Properties relay = new Properties();
    for (String key : p.stringPropertyNames()) {
      if (key.startsWith("relay.")) {
        relay.setProperty(key, p.getProperty(key));
      }
    }
    boolean relayWanted =
        !relay.isEmpty() || env.keySet().stream().anyMatch(k -> k.startsWith("PGBROKER_RELAY_"));
    String url = p.getProperty("db.url");
    if (url == null || url.isBlank()) {
      throw new CommandFailure(
          "no database: set db.url in the --config file or PGBROKER_DB_URL, e.g. "
              + Database.URL_EXAMPLE);
    }
    Database.check(url);
    List<String> admin = tokens(p.getProperty("http.admin-tokens"));
    boolean generated = admin.isEmpty();
    if (generated) {
      admin = List.of(newToken());
    }
    try {
      ApiSettings api =
          new ApiSettings(
              p.getProperty("http.bind", ApiSettings.DEFAULT_BIND_ADDRESS),
              number(p, "http.port", ApiSettings.DEFAULT_PORT),
              admin,
              tokens(p.getProperty("http.read-tokens")),
              number(p, "http.max-body-bytes", ApiSettings.DEFAULT_MAX_BODY_BYTES));
      int pool = number(p, "db.pool-size", DEFAULT_POOL_SIZE);
      if (pool < 4 || pool > 1000) {
        throw new IllegalArgumentException("db.pool-size must be from 4 to 1000, was " + pool);
      }
      return new ServerConfig(
          url,
          p.getProperty("schema", Broker.DEFAULT_SCHEMA),
          pool,
          api,
          generated,
          relayWanted ? relay : null);
    } catch (IllegalArgumentException e) {
      throw new CommandFailure("bad setting: " + e.getMessage(), e);
    }
  }

  /** A fresh random token: 32 bytes, URL-safe Base64. */
  static String newToken() {
    byte[] bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  static String environmentName(String key) {
    return "PGBROKER_" + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  private static List<String> tokens(String value) {
    if (value == null) {
      return List.of();
    }
    List<String> out = new ArrayList<>();
    for (String t : value.split(",")) {
      if (!t.isBlank()) {
        out.add(t.trim());
      }
    }
    return out;
  }

  private static int number(Properties p, String key, int fallback) {
    String v = p.getProperty(key);
    if (v == null || v.isBlank()) {
      return fallback;
    }
    try {
      return Integer.parseInt(v.trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(key + " must be a whole number, was '" + v + "'");
    }
  }
}

package dev.pgbroker;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which published messages a subscription takes: a message passes when every header the filter
 * names holds one of the values given for it. The message type is the header {@code type}.
 * Immutable and safe to share.
 */
public final class Filter {
  /** Mirrors {@code _check_filter} in code/35_topics.sql. */
  static final int MAX_HEADERS = 32;

  static final int MAX_VALUES = 100;
  static final int MAX_NAME_CHARS = 256;

  private static final Filter ALL = new Filter(Map.of());

  private final Map<String, List<String>> headers;

  private Filter(Map<String, List<String>> headers) {
    this.headers = headers;
  }

  /** Takes every message. */
  public static Filter all() {
    return ALL;
  }

  /** Takes messages of these types, such as {@code type("order.paid", "order.refunded")}. */
  public static Filter type(String... types) {
    return ALL.header("type", types);
  }

  /** Also requires the header {@code name} to hold one of {@code values}. */
  public Filter header(String name, String... values) {
    if (name == null || name.isEmpty() || name.length() > MAX_NAME_CHARS) {
      throw new IllegalArgumentException(
          "filter header names must be 1 to " + MAX_NAME_CHARS + " characters, was " + name);
    }
    if (values == null || values.length == 0 || values.length > MAX_VALUES) {
      throw new IllegalArgumentException(
          "filter header "
              + name
              + " needs 1 to "
              + MAX_VALUES
              + " accepted values, got "
              + (values == null ? 0 : values.length));
    }
    for (String v : values) {
      Objects.requireNonNull(v, "filter value of header " + name);
    }
    Map<String, List<String>> copy = new LinkedHashMap<>(headers);
    copy.put(name, List.of(values));
    if (copy.size() > MAX_HEADERS) {
      throw new IllegalArgumentException("a filter may name at most " + MAX_HEADERS + " headers");
    }
    return new Filter(Collections.unmodifiableMap(copy));
  }

  /** Header name to its accepted values; empty for {@link #all()}. */
  public Map<String, List<String>> headers() {
    return headers;
  }

  static Filter of(Map<String, List<String>> headers) {
    return headers.isEmpty() ? ALL : new Filter(Collections.unmodifiableMap(headers));
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Filter f && f.headers.equals(headers);
  }

  @Override
  public int hashCode() {
    return headers.hashCode();
  }

  @Override
  public String toString() {
    return headers.isEmpty() ? "Filter.all()" : "Filter" + headers;
  }
}

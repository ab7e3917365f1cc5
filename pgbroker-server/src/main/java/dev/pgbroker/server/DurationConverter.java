package dev.pgbroker.server;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** Reads "500ms", "30s", "5m", "2h", "1d", a bare "0", or ISO-8601 such as "PT1M30S". */
final class DurationConverter implements ITypeConverter<Duration> {
  static final String FORMATS =
      "a number with ms, s, m, h or d (500ms, 30s, 5m) or ISO-8601 (PT30S)";

  private static final Pattern SHORT = Pattern.compile("(\\d{1,15})(ms|s|m|h|d)");

  @Override
  public Duration convert(String value) {
    String v = value.strip();
    if (v.equals("0")) {
      return Duration.ZERO;
    }
    Matcher m = SHORT.matcher(v);
    if (m.matches()) {
      long n = Long.parseLong(m.group(1));
      try {
        return switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
      } catch (ArithmeticException e) {
        throw new TypeConversionException("'" + value + "' is too long a duration");
      }
    }
    try {
      return Duration.parse(v);
    } catch (DateTimeParseException e) {
      throw new TypeConversionException("'" + value + "' is not a duration: use " + FORMATS);
    }
  }
}

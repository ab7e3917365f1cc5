package dev.pgbroker.spring;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.pgbroker.Delivery;
import dev.pgbroker.PoisonMessageException;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Type;

/** One {@code @PgBrokerListener} method of one bean, with how to build its arguments. */
final class ListenerMethod {
  private final String queue;
  private final int concurrency;
  private final boolean transactional;
  private final Object bean;
  private final Method method;
  private final String name;
  private final int payloadIndex;
  private final Type payloadType;

  ListenerMethod(
      String queue,
      int concurrency,
      boolean transactional,
      Object bean,
      Method method,
      Class<?> targetClass) {
    this.queue = queue;
    this.concurrency = concurrency;
    this.transactional = transactional;
    this.bean = bean;
    this.method = method;
    this.name = targetClass.getSimpleName() + "." + method.getName();
    int payload = -1;
    Class<?>[] types = method.getParameterTypes();
    for (int i = 0; i < types.length; i++) {
      if (types[i] == Delivery.class) {
        continue;
      }
      if (payload >= 0) {
        throw new IllegalStateException(
            "@PgBrokerListener method "
                + name
                + " takes "
                + types.length
                + " parameters; allowed: one payload parameter (read from JSON) and a Delivery,"
                + " each at most once");
      }
      payload = i;
    }
    this.payloadIndex = payload;
    this.payloadType = payload < 0 ? null : method.getGenericParameterTypes()[payload];
    if (concurrency < 0 || concurrency > 10_000) {
      throw new IllegalStateException(
          "@PgBrokerListener method "
              + name
              + ": concurrency must be between 1 and 10000 (0: from properties), was "
              + concurrency);
    }
  }

  String queue() {
    return queue;
  }

  int concurrency() {
    return concurrency;
  }

  boolean transactional() {
    return transactional;
  }

  String name() {
    return name;
  }

  /** Calls the method; its own exception comes out as thrown, to be recorded as the error. */
  void invoke(Delivery delivery, ObjectMapper mapper) throws Exception {
    Object[] args = new Object[method.getParameterCount()];
    for (int i = 0; i < args.length; i++) {
      args[i] = i == payloadIndex ? payload(delivery, mapper) : delivery;
    }
    try {
      method.invoke(bean, args);
    } catch (InvocationTargetException e) {
      Throwable cause = e.getCause();
      if (cause instanceof Exception ex) {
        throw ex;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw e;
    }
  }

  /** A payload that does not read as the parameter's type never will: no use retrying it. */
  private Object payload(Delivery delivery, ObjectMapper mapper) {
    JavaType type = mapper.getTypeFactory().constructType(payloadType);
    try {
      return mapper.readValue(delivery.payloadJson(), type);
    } catch (JsonProcessingException e) {
      throw new PoisonMessageException(
          "payload of message "
              + delivery.id()
              + " does not read as "
              + type
              + " for "
              + name
              + ": "
              + e.getOriginalMessage(),
          e);
    }
  }
}

package dev.pgbroker.spring;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.springframework.aop.support.AopUtils;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.core.MethodIntrospector;
import org.springframework.core.annotation.AnnotatedElementUtils;
import org.springframework.core.env.Environment;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.util.ReflectionUtils;

/**
 * Finds the {@code @PgBrokerListener} and {@code @PgBrokerSchedule} methods of every bean as it is
 * initialised.
 */
final class ListenerRegistry implements BeanPostProcessor {
  private final Environment environment;
  private final List<ListenerMethod> methods = new CopyOnWriteArrayList<>();
  private final ScheduleDefinitions schedules = new ScheduleDefinitions();

  ListenerRegistry(Environment environment) {
    this.environment = environment;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    Class<?> target = AopUtils.getTargetClass(bean);
    for (Map.Entry<Method, PgBrokerListener> e : find(target, PgBrokerListener.class).entrySet()) {
      PgBrokerListener a = e.getValue();
      add(bean, target, e.getKey(), resolve(a.queue()), a.concurrency(), a.transactional());
    }
    for (Map.Entry<Method, PgBrokerSchedule> e : find(target, PgBrokerSchedule.class).entrySet()) {
      PgBrokerSchedule a = e.getValue();
      String name = resolve(a.name());
      String source = "@PgBrokerSchedule on " + target.getSimpleName() + "." + e.getKey().getName();
      schedules.add(name, resolve(a.cron()), resolve(a.zone()), resolve(a.every()), source);
      add(bean, target, e.getKey(), name, 1, a.transactional());
    }
    return bean;
  }

  private static <A extends Annotation> Map<Method, A> find(Class<?> target, Class<A> type) {
    return MethodIntrospector.selectMethods(
        target,
        (MethodIntrospector.MetadataLookup<A>)
            m -> AnnotatedElementUtils.findMergedAnnotation(m, type));
  }

  private String resolve(String value) {
    return environment.resolveRequiredPlaceholders(value);
  }

  private void add(
      Object bean,
      Class<?> target,
      Method method,
      String queue,
      int concurrency,
      boolean transactional) {
    // Through the proxy, so @Transactional and other advice on the bean still apply.
    Method invocable = AopUtils.selectInvocableMethod(method, bean.getClass());
    ReflectionUtils.makeAccessible(invocable);
    boolean tx =
        transactional
            || AnnotatedElementUtils.hasAnnotation(method, Transactional.class)
            || AnnotatedElementUtils.hasAnnotation(target, Transactional.class);
    methods.add(new ListenerMethod(queue, concurrency, tx, bean, invocable, target));
  }

  /** The schedules declared by annotation; the container adds those of the properties. */
  ScheduleDefinitions schedules() {
    return schedules;
  }

  List<ListenerMethod> methods() {
    return List.copyOf(methods);
  }
}

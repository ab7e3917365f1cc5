package dev.pgbroker.spring;

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

/** Finds the {@code @PgBrokerListener} methods of every bean as it is initialised. */
final class ListenerRegistry implements BeanPostProcessor {
  private final Environment environment;
  private final List<ListenerMethod> methods = new CopyOnWriteArrayList<>();

  ListenerRegistry(Environment environment) {
    this.environment = environment;
  }

  @Override
  public Object postProcessAfterInitialization(Object bean, String beanName) {
    Class<?> target = AopUtils.getTargetClass(bean);
    Map<Method, PgBrokerListener> found =
        MethodIntrospector.selectMethods(
            target,
            (MethodIntrospector.MetadataLookup<PgBrokerListener>)
                m -> AnnotatedElementUtils.findMergedAnnotation(m, PgBrokerListener.class));
    for (Map.Entry<Method, PgBrokerListener> e : found.entrySet()) {
      Method method = e.getKey();
      PgBrokerListener a = e.getValue();
      // Through the proxy, so @Transactional and other advice on the bean still apply.
      Method invocable = AopUtils.selectInvocableMethod(method, bean.getClass());
      ReflectionUtils.makeAccessible(invocable);
      boolean transactional =
          a.transactional()
              || AnnotatedElementUtils.hasAnnotation(method, Transactional.class)
              || AnnotatedElementUtils.hasAnnotation(target, Transactional.class);
      methods.add(
          new ListenerMethod(
              environment.resolveRequiredPlaceholders(a.queue()),
              a.concurrency(),
              transactional,
              bean,
              invocable,
              target));
    }
    return bean;
  }

  List<ListenerMethod> methods() {
    return List.copyOf(methods);
  }
}

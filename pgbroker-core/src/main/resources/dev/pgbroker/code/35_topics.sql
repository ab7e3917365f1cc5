-- ---------------------------------------------------------------------------------------------
-- Topics. A publish stores one copy per subscription of its topic whose filter accepts the
-- message's headers; each subscription is a queue, so everything about queues applies to it.

create function {{schema}}._find_topic(t text) returns void language plpgsql as $$
begin
  perform {{schema}}._check_name('topic', t);
  perform 1 from {{schema}}.topic where name = t;
  if not found then
    raise exception using errcode = 'PB003', message = format('unknown topic %L', t);
  end if;
end $$;

-- A filter in its stored form: header name -> non-empty array of accepted scalar values (a
-- single value stands for an array of one). Refuses anything else with the rule it broke.
create function {{schema}}._check_filter(filter jsonb) returns jsonb
language plpgsql immutable as $$
declare
  f jsonb := coalesce(filter, '{}');
  out jsonb := '{}';
  e record;
  vals jsonb;
begin
  if jsonb_typeof(f) <> 'object' then
    perform {{schema}}._fail(format('filter must be a JSON object of header name to accepted '
      'values, such as {"type": ["order.paid", "order.refunded"]}, was %s', f));
  end if;
  if (select count(*) from jsonb_object_keys(f)) > 32 then
    perform {{schema}}._fail('a filter may name at most 32 headers');
  end if;
  for e in select * from jsonb_each(f) loop
    if length(e.key) = 0 or length(e.key) > 256 then
      perform {{schema}}._fail(format('filter header names must be 1 to 256 characters, was %L',
        e.key));
    end if;
    vals := case when jsonb_typeof(e.value) = 'array' then e.value
                 else jsonb_build_array(e.value) end;
    if jsonb_array_length(vals) = 0 or jsonb_array_length(vals) > 100
       or exists (select 1 from jsonb_array_elements(vals) v
                  where jsonb_typeof(v) not in ('string', 'number', 'boolean')) then
      perform {{schema}}._fail(format('filter values of header %L must be 1 to 100 strings, '
        'numbers or booleans, was %s', e.key, e.value));
    end if;
    out := out || jsonb_build_object(e.key, vals);
  end loop;
  return out;
end $$;

-- Whether a message with these headers passes the filter: every named header holds one of its
-- accepted values.
create function {{schema}}._accepts(filter jsonb, headers jsonb) returns boolean
language sql immutable as $$
  select not exists (select 1 from jsonb_each(filter) f
                     where not f.value @> jsonb_build_array(coalesce(headers, '{}') -> f.key));
$$;

-- Idempotent: a topic may be made before anyone subscribes, so publishers never fail on it.
create function {{schema}}.create_topic(topic text) returns void language plpgsql as $$
begin
  perform {{schema}}._check_name('topic', topic);
  insert into {{schema}}.topic (name) values (topic) on conflict (name) do nothing;
end $$;

-- Removes the topic and its subscriptions' queues with everything they hold.
create function {{schema}}.delete_topic(topic text) returns boolean language plpgsql as $$
declare
  q text;
begin
  perform {{schema}}._check_name('topic', topic);
  for q in select s.queue from {{schema}}.subscription s where s.topic = delete_topic.topic
           order by s.queue loop
    perform {{schema}}.delete_queue(q);
  end loop;
  delete from {{schema}}.topic t where t.name = delete_topic.topic;
  return found;
end $$;

-- Idempotent, and also changes the filter or the queue's settings (every other option key is a
-- create_queue option). The queue may exist already, but may not belong to another topic.
create function {{schema}}.subscribe(topic text, subscription text, options jsonb default '{}')
returns void language plpgsql as $$
declare
  o jsonb := coalesce(options, '{}');
  f jsonb;
  other text;
begin
  perform {{schema}}._check_name('topic', topic);
  perform {{schema}}._check_name('subscription', subscription);
  if jsonb_typeof(o) <> 'object' then
    perform {{schema}}._fail(format('subscription options must be a JSON object, was %s', o));
  end if;
  f := {{schema}}._check_filter(o -> 'filter');
  select s.topic into other from {{schema}}.subscription s where s.queue = subscription;
  if other is not null and other <> topic then
    perform {{schema}}._fail(format('queue %L already subscribes to topic %L; a subscription '
      'belongs to one topic', subscription, other));
  end if;
  perform {{schema}}.create_topic(topic);
  perform {{schema}}.create_queue(subscription, o - 'filter');
  insert into {{schema}}.subscription as s (queue, topic, filter)
  values (subscription, topic, f)
  on conflict (queue) do update set filter = excluded.filter;
end $$;

-- Ends the subscription: its queue goes, with the copies still waiting in it.
create function {{schema}}.unsubscribe(topic text, subscription text) returns boolean
language plpgsql as $$
begin
  perform {{schema}}._check_name('topic', topic);
  perform {{schema}}._check_name('subscription', subscription);
  perform 1 from {{schema}}.subscription s
  where s.queue = subscription and s.topic = unsubscribe.topic;
  if not found then
    return false;
  end if;
  return {{schema}}.delete_queue(subscription);
end $$;

-- Sends the payloads to every subscription of the topic that accepts the headers, in this
-- transaction, and returns each queue with the number of copies it got.
create function {{schema}}._publish(t text, payloads jsonb[], headers jsonb, delay_ms bigint,
                                    deliver_at timestamptz, priority integer, dedup_key text,
                                    ordering_key text, wake boolean, max_attempts integer,
                                    backoff_ms bigint[])
returns table (queue text, copies integer) language plpgsql as $$
declare
  s record;
begin
  perform {{schema}}._find_topic(t);
  perform {{schema}}._send_due(coalesce(cardinality(payloads), 0), delay_ms, deliver_at,
                               dedup_key, ordering_key, max_attempts, backoff_ms);
  for s in select sub.queue, sub.filter from {{schema}}.subscription sub
           where sub.topic = t order by sub.queue loop
    continue when not {{schema}}._accepts(s.filter, headers);
    queue := s.queue;
    select count(*) into copies
    from {{schema}}._send(s.queue, payloads, headers, delay_ms, deliver_at, priority, dedup_key,
                          ordering_key, wake, max_attempts, backoff_ms);
    return next;
  end loop;
end $$;

create function {{schema}}.publish(topic text, payload jsonb, options jsonb default '{}')
returns integer language sql as $$
  select coalesce(sum(p.copies), 0)::integer
  from {{schema}}._send_options(options, true) o,
       {{schema}}._publish(topic, array[payload], o.headers, o.delay_ms, o.deliver_at,
                           o.priority, o.dedup_key, o.ordering_key, true, o.max_attempts,
                           o.backoff_ms) p;
$$;

create function {{schema}}.publish_batch(topic text, payloads jsonb[], options jsonb default '{}')
returns integer language sql as $$
  select coalesce(sum(p.copies), 0)::integer
  from {{schema}}._send_options(options, false) o,
       {{schema}}._publish(topic, payloads, o.headers, o.delay_ms, o.deliver_at, o.priority,
                           null, o.ordering_key, true, o.max_attempts, o.backoff_ms) p;
$$;

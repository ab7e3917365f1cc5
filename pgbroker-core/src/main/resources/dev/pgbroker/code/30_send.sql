-- ---------------------------------------------------------------------------------------------
-- Send. _send stores a batch of payloads with the same options in one statement; send and
-- send_batch are its friendly faces.

-- Checks a send's options (shared by send and publish, so a publish that reaches no subscription
-- still refuses what a send would) and returns its due time: deliver_at when given, else delay_ms
-- after this statement on the database clock.
create function {{schema}}._send_due(n integer, delay_ms bigint, deliver_at timestamptz,
                                     dedup_key text, ordering_key text, max_attempts integer,
                                     backoff_ms bigint[])
returns timestamptz language plpgsql volatile as $$
begin
  if n = 0 then
    perform {{schema}}._fail('a send needs at least one payload');
  end if;
  if delay_ms < 0 or delay_ms > 1e15 then
    perform {{schema}}._fail(format('delay must be from 0 to 1e15 ms, was %s ms', delay_ms));
  end if;
  if delay_ms > 0 and deliver_at is not null then
    perform {{schema}}._fail('give a delay or a delivery time, not both');
  end if;
  perform {{schema}}._check_key('dedup_key', dedup_key);
  perform {{schema}}._check_key('ordering_key', ordering_key);
  if max_attempts < 1 then
    perform {{schema}}._fail(format('max_attempts must be >= 1, was %s', max_attempts));
  end if;
  if backoff_ms is not null -- (else the query below would run on every send)
     and (cardinality(backoff_ms) = 0 or exists (select 1 from unnest(backoff_ms) b
                                                 where b is null or b < 0 or b > 1e15)) then
    perform {{schema}}._fail(format('backoff_ms must be a non-empty array of whole numbers '
      'from 0 to 1e15, was %s', backoff_ms));
  end if;
  if dedup_key is not null and n > 1 then
    perform {{schema}}._fail('a dedup key names one message; send deduplicated messages one by one');
  end if;
  return coalesce(deliver_at, clock_timestamp() + coalesce(delay_ms, 0) * interval '1 millisecond');
end $$;

-- Stores a batch of payloads with the same options, due as _send_due says. wake sends a NOTIFY on the schema's
-- channel in this transaction (PostgreSQL folds repeats into one per transaction), unless the
-- queue opted out; the Java API passes false and notifies after its commit instead.
-- max_attempts and backoff_ms are the messages' own retry policy (null: the queue's).
create function {{schema}}._send(q text, payloads jsonb[], headers jsonb, delay_ms bigint,
                                 deliver_at timestamptz, priority integer, dedup_key text,
                                 ordering_key text, wake boolean, max_attempts integer default null,
                                 backoff_ms bigint[] default null)
returns setof bigint language plpgsql as $$
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q, true);
  n integer := coalesce(cardinality(payloads), 0);
  due timestamptz;
  bad record;
  new_id bigint;
  got bigint;
begin
  due := {{schema}}._send_due(n, delay_ms, deliver_at, dedup_key, ordering_key, max_attempts,
                              backoff_ms);
  if wake and cfg.notify_sql_sends then
    perform pg_notify('{{schema}}', q);
  end if;
  select u.i, octet_length(u.p::text) as size into bad
  from unnest(payloads) with ordinality as u(p, i)
  where u.p is null or octet_length(u.p::text) > cfg.max_payload_bytes
  limit 1;
  if found then
    if bad.size is null then
      perform {{schema}}._fail(format('payload must not be null (message %s)', bad.i));
    end if;
    perform {{schema}}._fail(format('payload of %s bytes is over queue %L''s limit of %s bytes '
      '(message %s)', bad.size, q, cfg.max_payload_bytes, bad.i));
  end if;

  if dedup_key is null then
    return query
      insert into {{schema}}.message (queue, payload, headers, priority, ordering_key, visible_at,
                                      max_attempts, backoff_ms)
      select q, u.p, coalesce(headers, '{}'), coalesce(priority, 0), ordering_key,
             due, max_attempts, backoff_ms
      from unnest(payloads) with ordinality as u(p, i)
      order by u.i
      returning id;
    perform {{schema}}._count(q, n, 0, 0, 0);
    return;
  end if;

  -- The message claims its key first; a key held by a live message, or by one finished within
  -- the dedup window, yields that message's id and stores nothing.
  -- Neither step locks the row of a key that is still held: an ON CONFLICT DO UPDATE would,
  -- and an open transaction that merely hit a duplicate would then block the original's ack.
  new_id := nextval('{{schema}}.message_id_seq');
  loop
    insert into {{schema}}.dedup as d (queue, dedup_key, message_id)
    values (q, dedup_key, new_id)
    on conflict on constraint dedup_pkey do nothing
    returning d.message_id into got;
    exit when got is not null;
    update {{schema}}.dedup d set message_id = new_id, expires_at = null
    where d.queue = q and d.dedup_key = _send.dedup_key and d.expires_at <= clock_timestamp()
    returning d.message_id into got;
    exit when got is not null;
    select d.message_id into got from {{schema}}.dedup d
    where d.queue = q and d.dedup_key = _send.dedup_key;
    if got is not null then
      return next got; -- a live message, or one finished within the dedup window
      return;
    end if;
    -- the key's row vanished between the steps (its window ended): try again
  end loop;
  insert into {{schema}}.message (id, queue, payload, headers, priority, dedup_key,
                                  ordering_key, visible_at, max_attempts, backoff_ms)
  values (new_id, q, payloads[1], coalesce(headers, '{}'), coalesce(priority, 0), dedup_key,
          ordering_key, due, max_attempts, backoff_ms);
  perform {{schema}}._count(q, 1, 0, 0, 0);
  return next new_id;
end $$;

-- Reads the SQL API's send options, refusing what the Java API refuses.
create function {{schema}}._send_options(options jsonb, single boolean,
  out headers jsonb, out delay_ms bigint, out deliver_at timestamptz, out priority integer,
  out dedup_key text, out ordering_key text, out max_attempts integer, out backoff_ms bigint[])
language plpgsql stable as $$
declare
  o jsonb := coalesce(options, '{}');
  k text;
begin
  perform {{schema}}._check_keys('send option', o, case when single
    then array['delay_ms', 'deliver_at', 'priority', 'dedup_key', 'ordering_key', 'headers',
               'type', 'max_attempts', 'backoff_ms']
    else array['delay_ms', 'deliver_at', 'priority', 'ordering_key', 'headers', 'type',
               'max_attempts', 'backoff_ms'] end);
  delay_ms := {{schema}}._ms(o, 'delay_ms');
  max_attempts := {{schema}}._ms(o, 'max_attempts', 2147483647);
  if max_attempts = 0 then
    perform {{schema}}._fail('max_attempts must be >= 1, was 0');
  end if;
  backoff_ms := {{schema}}._backoff_schedule(o);
  if o ? 'priority' and (jsonb_typeof(o -> 'priority') <> 'number'
                         or (o ->> 'priority')::numeric <> trunc((o ->> 'priority')::numeric)
                         or abs((o ->> 'priority')::numeric) > 1000000) then
    perform {{schema}}._fail(format('priority must be a whole number between -1000000 and '
      '1000000, was %s', o -> 'priority'));
  end if;
  priority := (o ->> 'priority')::integer;
  foreach k in array array['dedup_key', 'ordering_key'] loop
    if o ? k and jsonb_typeof(o -> k) <> 'string' then
      perform {{schema}}._fail(format('%s must be a string, was %s', k, o -> k));
    end if;
  end loop;
  if o ? 'deliver_at' then
    begin
      deliver_at := (o ->> 'deliver_at')::timestamptz;
    exception when others then
      deliver_at := null;
    end;
    if jsonb_typeof(o -> 'deliver_at') <> 'string' or deliver_at is null
       or not isfinite(deliver_at) then
      perform {{schema}}._fail(format('deliver_at must be a timestamp with time zone such as '
        '"2030-01-01T08:00:00Z", was %s', o -> 'deliver_at'));
    end if;
  end if;
  if o ? 'headers' and jsonb_typeof(o -> 'headers') <> 'object' then
    perform {{schema}}._fail(format('headers must be a JSON object, was %s', o -> 'headers'));
  end if;
  if o ? 'type' and (jsonb_typeof(o -> 'type') <> 'string' or length(o ->> 'type') = 0) then
    perform {{schema}}._fail(format('type must be a non-empty string, was %s', o -> 'type'));
  end if;
  -- The type is the header "type", which subscription filters match on.
  headers := o -> 'headers';
  if o ? 'type' then
    headers := coalesce(headers, '{}') || jsonb_build_object('type', o -> 'type');
  end if;
  dedup_key := o ->> 'dedup_key';
  ordering_key := o ->> 'ordering_key';
end $$;

create function {{schema}}.send(queue text, payload jsonb, options jsonb default '{}')
returns bigint language sql as $$
  select {{schema}}._send(queue, array[payload], o.headers, o.delay_ms, o.deliver_at,
                          o.priority, o.dedup_key, o.ordering_key, true, o.max_attempts,
                          o.backoff_ms)
  from {{schema}}._send_options(options, true) o;
$$;

create function {{schema}}.send_batch(queue text, payloads jsonb[], options jsonb default '{}')
returns setof bigint language sql as $$
  select {{schema}}._send(queue, payloads, o.headers, o.delay_ms, o.deliver_at, o.priority,
                          null, o.ordering_key, true, o.max_attempts, o.backoff_ms)
  from {{schema}}._send_options(options, false) o;
$$;

-- A finished (acked, dead-lettered or dropped) message's dedup key keeps counting for the
-- queue's dedup window, then frees up.
create function {{schema}}._finish_dedup() returns trigger language plpgsql as $$
declare
  window_ms bigint;
begin
  select q.dedup_window_ms into window_ms from {{schema}}.queue q where q.name = old.queue;
  if window_ms > 0 then
    update {{schema}}.dedup d set expires_at = clock_timestamp() + window_ms * interval '1 millisecond'
    where d.queue = old.queue and d.dedup_key = old.dedup_key and d.message_id = old.id;
  else
    delete from {{schema}}.dedup d
    where d.queue = old.queue and d.dedup_key = old.dedup_key and d.message_id = old.id;
  end if;
  return null;
end $$;

create trigger message_dedup_finished after delete on {{schema}}.message
  for each row when (old.dedup_key is not null) execute function {{schema}}._finish_dedup();


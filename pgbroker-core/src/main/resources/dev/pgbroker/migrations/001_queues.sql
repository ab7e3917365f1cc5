-- pgbroker schema, version 1: queues, messages, dead letters, archive, dedup, counters and the
-- SQL API. {{schema}} is replaced by the validated schema name before this file runs.

create table {{schema}}.queue (
  name                  text primary key,
  visibility_timeout_ms bigint  not null default 30000,
  max_attempts          integer not null default 5,
  backoff_ms            bigint[],                     -- explicit schedule; null: exponential
  backoff_base_ms       bigint  not null default 1000,
  backoff_max_ms        bigint  not null default 600000,
  dead_letter           boolean not null default true, -- false: exhausted messages are dropped
  retention_ms          bigint  not null default 0,    -- > 0: acked messages are archived
  dedup_window_ms       bigint  not null default 0,    -- how long a finished dedup key still counts
  max_payload_bytes     integer not null default 1048576,
  created_at            timestamptz not null default now(),
  check (visibility_timeout_ms > 0),
  check (max_attempts > 0),
  check (backoff_base_ms >= 0),
  check (retention_ms >= 0 and dedup_window_ms >= 0),
  check (max_payload_bytes > 0)
);

create sequence {{schema}}.message_id_seq;

-- The hot table: only live messages (ready, delayed, leased). visible_at is the due time of a
-- ready or delayed message and the lease expiry of a leased one, so one range test finds
-- everything deliverable, including messages whose lease has run out. There is no foreign key
-- to queue: its per-row check cost a quarter of a batch insert, so _send locks the queue row
-- once per statement instead and delete_queue deletes the queue's messages itself.
create table {{schema}}.message (
  id           bigint primary key default nextval('{{schema}}.message_id_seq'),
  queue        text not null,
  payload      jsonb not null,
  headers      jsonb not null default '{}',
  priority     integer not null default 0,
  ordering_key text,
  dedup_key    text,
  attempt      integer not null default 0,
  visible_at   timestamptz not null,
  lease        uuid,
  enqueued_at  timestamptz not null default now(),
  errors       jsonb not null default '[]'           -- one entry per failed attempt
) with (fillfactor = 80);

-- Every finished message leaves a dead row and dead index entries at the head of
-- message_fetch, which each fetch walks until vacuum clears them; vacuum this table after a
-- fixed number of dead rows rather than a fraction of a table that is mostly dead.
alter table {{schema}}.message set (autovacuum_vacuum_scale_factor = 0,
  autovacuum_vacuum_threshold = 10000, autovacuum_vacuum_cost_delay = 0);

create index message_fetch on {{schema}}.message (queue, priority desc, visible_at, id);
create index message_ordering on {{schema}}.message (queue, ordering_key, id)
  where ordering_key is not null;
create index message_ordering_leased on {{schema}}.message (queue, ordering_key)
  where ordering_key is not null and lease is not null;

create table {{schema}}.dead_letter (
  id           bigint primary key,
  queue        text not null references {{schema}}.queue (name) on delete cascade,
  payload      jsonb not null,
  headers      jsonb not null,
  priority     integer not null,
  ordering_key text,
  dedup_key    text,
  attempts     integer not null,
  enqueued_at  timestamptz not null,
  dead_at      timestamptz not null default now(),
  errors       jsonb not null
);
create index dead_letter_queue on {{schema}}.dead_letter (queue, id);

create table {{schema}}.archive (
  id           bigint primary key,
  queue        text not null references {{schema}}.queue (name) on delete cascade,
  payload      jsonb not null,
  headers      jsonb not null,
  attempts     integer not null,
  enqueued_at  timestamptz not null,
  acked_at     timestamptz not null default now(),
  expires_at   timestamptz not null
);
create index archive_expiry on {{schema}}.archive (expires_at);

-- One row per dedup key: expires_at is null while its message is live, and the end of the
-- queue's dedup window once the message is finished.
create table {{schema}}.dedup (
  queue      text not null references {{schema}}.queue (name) on delete cascade,
  dedup_key  text not null,
  message_id bigint not null,
  expires_at timestamptz,
  primary key (queue, dedup_key)
);

-- Counters are appended, never updated, so concurrent senders never wait on a counter row;
-- maintain() folds them into one row per queue.
create table {{schema}}.counter (
  queue  text not null,
  sent   bigint not null default 0,
  acked  bigint not null default 0,
  failed bigint not null default 0,
  dead   bigint not null default 0
);
create index counter_queue on {{schema}}.counter (queue);

-- ---------------------------------------------------------------------------------------------
-- Helpers. Errors use SQLSTATE PB001 (unknown queue) and PB002 (invalid argument) so that every
-- client can tell them apart from database failures.

create function {{schema}}._fail(msg text) returns void language plpgsql as $$
begin
  raise exception using errcode = 'PB002', message = msg;
end $$;

create function {{schema}}._check_name(what text, name text) returns void
language plpgsql immutable as $$
begin
  if name is null or name !~ '^[a-z0-9][a-z0-9_.-]{0,62}$' then
    perform {{schema}}._fail(format('invalid %s name %L: use 1 to 63 characters of a-z, 0-9, '
      '"_", "." or "-", starting with a letter or digit', what, name));
  end if;
end $$;

-- The queue's row, or an error naming the unknown queue. Senders pass lock, which holds the row
-- against a concurrent delete_queue until they commit, so no message outlives its queue.
create function {{schema}}._find_queue(q text, lock boolean default false)
returns {{schema}}.queue language plpgsql as $$
declare
  r {{schema}}.queue;
begin
  perform {{schema}}._check_name('queue', q);
  if lock then
    select * into r from {{schema}}.queue where name = q for key share;
  else
    select * into r from {{schema}}.queue where name = q;
  end if;
  if not found then
    raise exception using errcode = 'PB001', message = format('unknown queue %L', q);
  end if;
  return r;
end $$;

create function {{schema}}._check_keys(what text, options jsonb, allowed text[]) returns void
language plpgsql immutable as $$
declare
  k text;
begin
  if options is null then
    return;
  end if;
  if jsonb_typeof(options) <> 'object' then
    perform {{schema}}._fail(format('%s must be a JSON object, was %s', what, options));
  end if;
  for k in select jsonb_object_keys(options) loop
    if not k = any (allowed) then
      perform {{schema}}._fail(format('unknown %s key %L; allowed: %s', what, k,
        array_to_string(allowed, ', ')));
    end if;
  end loop;
end $$;

-- Reads a whole number option between 0 and max, or null when absent.
create function {{schema}}._ms(options jsonb, key text, max numeric default 1e15)
returns bigint language plpgsql immutable as $$
declare
  v jsonb := options -> key;
begin
  if v is null or v = 'null' then
    return null;
  end if;
  if jsonb_typeof(v) <> 'number' or (v #>> '{}')::numeric <> trunc((v #>> '{}')::numeric)
     or (v #>> '{}')::numeric < 0 or (v #>> '{}')::numeric > max then
    perform {{schema}}._fail(format('%s must be a whole number from 0 to %s, was %s', key, max, v));
  end if;
  return (v #>> '{}')::bigint;
end $$;

create function {{schema}}._count(q text, sent bigint, acked bigint, failed bigint, dead bigint)
returns void language sql as $$
  insert into {{schema}}.counter (queue, sent, acked, failed, dead)
  select q, sent, acked, failed, dead where sent + acked + failed + dead > 0;
$$;

-- Delay before retry number attempt + 1: the queue's explicit schedule (its last entry
-- repeats), or exponential backoff with equal jitter.
create function {{schema}}._backoff_ms(q {{schema}}.queue, attempt integer) returns bigint
language sql volatile as $$
  select case
    when q.backoff_ms is not null then
      q.backoff_ms[least(greatest(attempt, 1), cardinality(q.backoff_ms))]
    else (
      with e(ms) as (select least(q.backoff_max_ms::numeric,
                                  q.backoff_base_ms * power(2::numeric, least(attempt, 60) - 1)))
      select (ms / 2 + random() * ms / 2)::bigint from e)
  end;
$$;

-- ---------------------------------------------------------------------------------------------
-- Queues

create function {{schema}}.create_queue(queue text, options jsonb default '{}') returns void
language plpgsql as $$
declare
  o jsonb := coalesce(options, '{}');
  backoff bigint[];
  v bigint;
  r {{schema}}.queue;
begin
  perform {{schema}}._check_name('queue', queue);
  perform {{schema}}._check_keys('queue option', o, array['visibility_timeout_ms',
    'max_attempts', 'backoff_ms', 'backoff_base_ms', 'backoff_max_ms', 'dead_letter',
    'retention_ms', 'dedup_window_ms', 'max_payload_bytes']);
  foreach v in array array[{{schema}}._ms(o, 'visibility_timeout_ms'),
                           {{schema}}._ms(o, 'max_attempts', 2147483647),
                           {{schema}}._ms(o, 'max_payload_bytes', 2147483647)] loop
    if v = 0 then
      perform {{schema}}._fail('visibility_timeout_ms, max_attempts and max_payload_bytes '
        'must be > 0, was 0');
    end if;
  end loop;
  if o ? 'backoff_ms' and o -> 'backoff_ms' <> 'null' then
    if jsonb_typeof(o -> 'backoff_ms') <> 'array' or jsonb_array_length(o -> 'backoff_ms') = 0
       or exists (select 1 from jsonb_array_elements(o -> 'backoff_ms') e
                  where jsonb_typeof(e) <> 'number' or (e #>> '{}')::numeric < 0
                     or (e #>> '{}')::numeric <> trunc((e #>> '{}')::numeric)) then
      perform {{schema}}._fail(format('backoff_ms must be a non-empty array of whole numbers '
        '>= 0, was %s', o -> 'backoff_ms'));
    end if;
    backoff := array(select (e #>> '{}')::bigint from jsonb_array_elements(o -> 'backoff_ms') e);
  end if;
  if o ? 'dead_letter' and jsonb_typeof(o -> 'dead_letter') <> 'boolean' then
    perform {{schema}}._fail(format('dead_letter must be true or false, was %s',
      o -> 'dead_letter'));
  end if;

  insert into {{schema}}.queue as t (name) values (queue) on conflict (name) do nothing;
  -- Only the keys given change, so create_queue is idempotent and also reconfigures.
  update {{schema}}.queue as t set
    visibility_timeout_ms = coalesce({{schema}}._ms(o, 'visibility_timeout_ms'),
                                     t.visibility_timeout_ms),
    max_attempts = coalesce({{schema}}._ms(o, 'max_attempts'), t.max_attempts),
    backoff_ms = case when o ? 'backoff_ms' then backoff else t.backoff_ms end,
    backoff_base_ms = coalesce({{schema}}._ms(o, 'backoff_base_ms'), t.backoff_base_ms),
    backoff_max_ms = coalesce({{schema}}._ms(o, 'backoff_max_ms'), t.backoff_max_ms),
    dead_letter = coalesce((o ->> 'dead_letter')::boolean, t.dead_letter),
    retention_ms = coalesce({{schema}}._ms(o, 'retention_ms'), t.retention_ms),
    dedup_window_ms = coalesce({{schema}}._ms(o, 'dedup_window_ms'), t.dedup_window_ms),
    max_payload_bytes = coalesce({{schema}}._ms(o, 'max_payload_bytes'), t.max_payload_bytes)
  where t.name = queue
  returning t.* into r;
  if r.backoff_max_ms < r.backoff_base_ms then
    perform {{schema}}._fail(format('backoff_max_ms must be >= backoff_base_ms (%s), was %s',
      r.backoff_base_ms, r.backoff_max_ms));
  end if;
end $$;

-- Deletes the queue row first: that waits for senders holding it, so the message delete after
-- it sees every message they committed.
create function {{schema}}.delete_queue(queue text) returns boolean
language plpgsql as $$
declare
  existed boolean;
begin
  perform {{schema}}._check_name('queue', queue);
  delete from {{schema}}.queue q where q.name = delete_queue.queue;
  existed := found;
  delete from {{schema}}.message m where m.queue = delete_queue.queue;
  delete from {{schema}}.counter c where c.queue = delete_queue.queue;
  return existed;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Send. _send stores a batch of payloads with the same options in one statement; send and
-- send_batch are its friendly faces.

create function {{schema}}._send(q text, payloads jsonb[], headers jsonb, delay_ms bigint,
                                 priority integer, dedup_key text, ordering_key text)
returns setof bigint language plpgsql as $$
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q, true);
  n integer := coalesce(cardinality(payloads), 0);
  bad record;
  new_id bigint;
  got bigint;
begin
  if n = 0 then
    perform {{schema}}._fail('a send needs at least one payload');
  end if;
  if delay_ms < 0 then
    perform {{schema}}._fail(format('delay must be >= 0 ms, was %s ms', delay_ms));
  end if;
  if dedup_key is not null and n > 1 then
    perform {{schema}}._fail('a dedup key names one message; send deduplicated messages one by one');
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
      insert into {{schema}}.message (queue, payload, headers, priority, ordering_key, visible_at)
      select q, u.p, coalesce(headers, '{}'), coalesce(priority, 0), ordering_key,
             now() + coalesce(delay_ms, 0) * interval '1 millisecond'
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
    where d.queue = q and d.dedup_key = _send.dedup_key and d.expires_at <= now()
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
                                  ordering_key, visible_at)
  values (new_id, q, payloads[1], coalesce(headers, '{}'), coalesce(priority, 0), dedup_key,
          ordering_key, now() + coalesce(delay_ms, 0) * interval '1 millisecond');
  perform {{schema}}._count(q, 1, 0, 0, 0);
  return next new_id;
end $$;

create function {{schema}}._send_options(options jsonb, single boolean,
  out headers jsonb, out delay_ms bigint, out priority integer, out dedup_key text,
  out ordering_key text)
language plpgsql immutable as $$
declare
  o jsonb := coalesce(options, '{}');
begin
  perform {{schema}}._check_keys('send option', o, case when single
    then array['delay_ms', 'priority', 'dedup_key', 'ordering_key', 'headers']
    else array['delay_ms', 'priority', 'ordering_key', 'headers'] end);
  if o ? 'delay_ms' and (jsonb_typeof(o -> 'delay_ms') <> 'number'
                         or (o ->> 'delay_ms')::numeric < 0
                         or (o ->> 'delay_ms')::numeric > 1e15) then
    perform {{schema}}._fail(format('delay_ms must be a number from 0 to 1e15, was %s',
      o -> 'delay_ms'));
  end if;
  if o ? 'priority' and (jsonb_typeof(o -> 'priority') <> 'number'
                         or abs((o ->> 'priority')::numeric) > 1000000) then
    perform {{schema}}._fail(format('priority must be a whole number between -1000000 and '
      '1000000, was %s', o -> 'priority'));
  end if;
  if o ? 'headers' and jsonb_typeof(o -> 'headers') <> 'object' then
    perform {{schema}}._fail(format('headers must be a JSON object, was %s', o -> 'headers'));
  end if;
  headers := o -> 'headers';
  delay_ms := (o ->> 'delay_ms')::numeric::bigint;
  priority := (o ->> 'priority')::numeric::integer;
  dedup_key := o ->> 'dedup_key';
  ordering_key := o ->> 'ordering_key';
end $$;

create function {{schema}}.send(queue text, payload jsonb, options jsonb default '{}')
returns bigint language sql as $$
  select {{schema}}._send(queue, array[payload], o.headers, o.delay_ms, o.priority, o.dedup_key,
                          o.ordering_key)
  from {{schema}}._send_options(options, true) o;
$$;

create function {{schema}}.send_batch(queue text, payloads jsonb[], options jsonb default '{}')
returns setof bigint language sql as $$
  select {{schema}}._send(queue, payloads, o.headers, o.delay_ms, o.priority, null,
                          o.ordering_key)
  from {{schema}}._send_options(options, false) o;
$$;

-- ---------------------------------------------------------------------------------------------
-- Receive and settle

-- Leases up to max_messages deliverable messages in one statement. A message with an ordering
-- key is deliverable only while no older message of its key is still live, so at most one per
-- key is in flight and a failing head holds its key. A message whose lease ran out after its
-- last allowed attempt is dead-lettered here instead of being delivered again. (Data-modifying
-- WITH steps always run to completion, whether or not the final select reads them.)
create function {{schema}}.read(queue text, max_messages integer,
                                visibility_timeout_ms bigint default null)
returns table (id bigint, lease uuid, attempt integer, payload jsonb, headers jsonb,
               enqueued_at timestamptz, priority integer, ordering_key text)
language plpgsql as $$
#variable_conflict use_column
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(queue);
  vt bigint := coalesce(visibility_timeout_ms, cfg.visibility_timeout_ms);
begin
  if max_messages is null or max_messages < 1 or max_messages > 10000 then
    perform {{schema}}._fail(format('max_messages must be between 1 and 10000, was %s',
      coalesce(max_messages::text, 'null')));
  end if;
  if vt <= 0 then
    perform {{schema}}._fail(format('visibility_timeout_ms must be > 0, was %s', vt));
  end if;
  return query
    with picked as (
      select m.id, m.ctid as tid, m.lease is not null and m.attempt >= cfg.max_attempts as exhausted
      from {{schema}}.message m
      where m.queue = cfg.name and m.visible_at <= now()
        and (m.ordering_key is null or (
              not exists (select 1 from {{schema}}.message h
                          where h.queue = m.queue and h.ordering_key = m.ordering_key
                            and h.id < m.id)
              -- a send that commits late, or a replay, can bring back an older message
              -- while a newer one of its key is leased: that lease holds the key too
              and not exists (select 1 from {{schema}}.message h
                              where h.queue = m.queue and h.ordering_key = m.ordering_key
                                and h.lease is not null and h.visible_at > now()
                                and h.id <> m.id)))
      order by m.priority desc, m.visible_at, m.id
      limit max_messages
      for update skip locked
    ), expired as (
      delete from {{schema}}.message m using picked p
      where m.id = p.id and p.exhausted
      returning m.*
    ), buried as (
      insert into {{schema}}.dead_letter (id, queue, payload, headers, priority, ordering_key,
                                          dedup_key, attempts, enqueued_at, errors)
      select e.id, e.queue, e.payload, e.headers, e.priority, e.ordering_key, e.dedup_key,
             e.attempt, e.enqueued_at,
             e.errors || jsonb_build_array(jsonb_build_object('attempt', e.attempt, 'at', now(),
               'error', 'lease expired: the consumer neither acked nor nacked in time'))
      from expired e where cfg.dead_letter
    ), counted as (
      insert into {{schema}}.counter (queue, failed, dead)
      select cfg.name, count(*), count(*) from expired having count(*) > 0
    ), leased as (
      update {{schema}}.message m
      set lease = gen_random_uuid(), attempt = m.attempt + 1,
          visible_at = now() + vt * interval '1 millisecond',
          errors = case when m.lease is null then m.errors  -- a lease that ran out is an attempt too
                   else m.errors || jsonb_build_array(jsonb_build_object('attempt', m.attempt,
                     'at', now(), 'error', 'lease expired: the consumer neither acked nor nacked in time'))
                   end
      from picked p
      where m.ctid = p.tid and not p.exhausted -- the locked row cannot move: no index probe
      returning m.id, m.lease, m.attempt, m.payload, m.headers, m.enqueued_at, m.priority,
                m.ordering_key
    )
    select * from leased;
end $$;

-- Finishes messages whose lease is still held. Returns the leases it settled; a missing one was
-- stale (expired and redelivered, or already settled). Leases, unlike ids, name one delivery.
create function {{schema}}._ack(q text, ids bigint[], leases uuid[]) returns setof uuid
language plpgsql as $$
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q);
  n bigint;
begin
  return query
    with done as (
      delete from {{schema}}.message m
      using unnest(ids, leases) as u(id, lease)
      where m.id = u.id and m.lease = u.lease and m.queue = q
      returning m.*
    ), archived as (
      insert into {{schema}}.archive (id, queue, payload, headers, attempts, enqueued_at,
                                      expires_at)
      select d.id, d.queue, d.payload, d.headers, d.attempt, d.enqueued_at,
             now() + cfg.retention_ms * interval '1 millisecond'
      from done d where cfg.retention_ms > 0
    )
    select d.lease from done d;
  get diagnostics n = row_count;
  perform {{schema}}._count(q, 0, n, 0, 0);
end $$;

-- A finished (acked, dead-lettered or dropped) message's dedup key keeps counting for the
-- queue's dedup window, then frees up.
create function {{schema}}._finish_dedup() returns trigger language plpgsql as $$
declare
  window_ms bigint;
begin
  select q.dedup_window_ms into window_ms from {{schema}}.queue q where q.name = old.queue;
  if window_ms > 0 then
    update {{schema}}.dedup d set expires_at = now() + window_ms * interval '1 millisecond'
    where d.queue = old.queue and d.dedup_key = old.dedup_key and d.message_id = old.id;
  else
    delete from {{schema}}.dedup d
    where d.queue = old.queue and d.dedup_key = old.dedup_key and d.message_id = old.id;
  end if;
  return null;
end $$;

create trigger message_dedup_finished after delete on {{schema}}.message
  for each row when (old.dedup_key is not null) execute function {{schema}}._finish_dedup();

create function {{schema}}.ack(queue text, id bigint, lease text) returns boolean
language sql as $$
  select exists (select 1 from {{schema}}._ack(queue, array[id], array[lease::uuid]));
$$;

-- Fails deliveries whose lease is still held: each is retried after its delay (null: the
-- queue's backoff) or, when its attempts are used up or bury is set, moved to the dead-letter
-- store with its error history. Returns (lease, 'retry' | 'dead') for each one settled.
create function {{schema}}._nack(q text, ids bigint[], leases uuid[], delays_ms bigint[],
                                 errors text[], bury boolean default false)
returns table (lease uuid, outcome text) language plpgsql as $$
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q);
  settled uuid[];
  outcomes text[];
begin
  if exists (select 1 from unnest(delays_ms) d where d < 0) then
    perform {{schema}}._fail('nack delay must be >= 0 ms');
  end if;
  with target as (
    select m.id, m.lease, m.attempt >= cfg.max_attempts or bury as final, u.d,
           jsonb_build_object('attempt', m.attempt, 'at', now(), 'error', u.e) as entry
    from unnest(ids, leases, delays_ms, errors) as u(id, lease, d, e)
    join {{schema}}.message m on m.id = u.id and m.lease = u.lease and m.queue = q
    for update of m
  ), dead as (
    delete from {{schema}}.message m using target t
    where m.id = t.id and t.final
    returning m.*, t.entry
  ), buried as (
    insert into {{schema}}.dead_letter (id, queue, payload, headers, priority, ordering_key,
                                        dedup_key, attempts, enqueued_at, errors)
    select d.id, d.queue, d.payload, d.headers, d.priority, d.ordering_key, d.dedup_key,
           d.attempt, d.enqueued_at, d.errors || jsonb_build_array(d.entry)
    from dead d where cfg.dead_letter
  ), retry as (
    update {{schema}}.message m
    set lease = null, errors = m.errors || jsonb_build_array(t.entry),
        visible_at = now() + coalesce(t.d, {{schema}}._backoff_ms(cfg, m.attempt))
                             * interval '1 millisecond'
    from target t
    where m.id = t.id and not t.final
    returning t.lease
  ), settled as (
    select r.lease, 'retry' as outcome from retry r union all select d.lease, 'dead' from dead d
  )
  select coalesce(array_agg(s.lease), '{}'), coalesce(array_agg(s.outcome), '{}')
  into settled, outcomes from settled s;
  perform {{schema}}._count(q, 0, 0, cardinality(settled),
                            cardinality(array_remove(outcomes, 'retry')));
  return query select * from unnest(settled, outcomes);
end $$;

create function {{schema}}.nack(queue text, id bigint, lease text, delay_ms bigint default 0,
                                error text default null) returns boolean
language sql as $$
  select exists (select 1 from {{schema}}._nack(queue, array[id], array[lease::uuid],
                                                array[delay_ms], array[error]));
$$;

-- Pushes the lease expiry of held deliveries to now + extend_ms; returns the leases extended.
create function {{schema}}._extend(q text, ids bigint[], leases uuid[], extend_ms bigint)
returns setof uuid language plpgsql as $$
begin
  perform {{schema}}._find_queue(q);
  if extend_ms is null or extend_ms <= 0 then
    perform {{schema}}._fail(format('lease extension must be > 0 ms, was %s', extend_ms));
  end if;
  return query
    update {{schema}}.message m set visible_at = now() + extend_ms * interval '1 millisecond'
    from unnest(ids, leases) as u(id, lease)
    where m.id = u.id and m.lease = u.lease and m.queue = q
    returning m.lease;
end $$;

create function {{schema}}.extend(queue text, id bigint, lease text, extend_ms bigint)
returns boolean language sql as $$
  select exists (select 1 from {{schema}}._extend(queue, array[id], array[lease::uuid],
                                                  extend_ms));
$$;

-- Gives back leases of deliveries a consumer took but never started (a worker shutting down):
-- the messages are deliverable again at once and the attempt does not count.
create function {{schema}}._release(q text, ids bigint[], leases uuid[]) returns setof uuid
language plpgsql as $$
begin
  perform {{schema}}._find_queue(q);
  return query
    update {{schema}}.message m
    set lease = null, visible_at = now(), attempt = m.attempt - 1
    from unnest(ids, leases) as u(id, lease)
    where m.id = u.id and m.lease = u.lease and m.queue = q
    returning u.lease;
end $$;

-- Milliseconds until the next message of the queue becomes deliverable by time alone (a delay,
-- a retry backoff or a lease running out); null when there is none. Workers sleep until then.
-- PostgreSQL 15 has no skip scan, so this walks the few distinct priorities one index probe at
-- a time and takes the earliest future due time within each, instead of scanning every row.
create function {{schema}}._next_due_ms(q text) returns bigint
language sql stable as $$
  with recursive prio(p) as (
    select max(m.priority) from {{schema}}.message m where m.queue = q
    union all
    select (select max(m.priority) from {{schema}}.message m
            where m.queue = q and m.priority < prio.p)
    from prio where prio.p is not null
  )
  select greatest(0, ceil(extract(epoch from min(due.at) - now()) * 1000))::bigint
  from prio, lateral (select min(m.visible_at) as at from {{schema}}.message m
                      where m.queue = q and m.priority = prio.p and m.visible_at > now()) due
  where prio.p is not null;
$$;

-- ---------------------------------------------------------------------------------------------
-- Dead letters

-- Puts dead letters back as new messages (same id, attempts reset, error history kept):
-- those in ids, or when ids is null those whose errors mention error_contains, or all.
create function {{schema}}.replay(queue text, ids bigint[] default null,
                                  error_contains text default null) returns integer
language plpgsql as $$
#variable_conflict use_column
declare
  n integer;
begin
  perform {{schema}}._find_queue(queue);
  with revived as (
    delete from {{schema}}.dead_letter d
    where d.queue = replay.queue
      and (ids is null or d.id = any (ids))
      and (error_contains is null or strpos(d.errors::text, error_contains) > 0)
    returning d.*
  ), reclaimed as (
    insert into {{schema}}.dedup as k (queue, dedup_key, message_id)
    select distinct on (r.dedup_key) r.queue, r.dedup_key, r.id
    from revived r where r.dedup_key is not null
    order by r.dedup_key, r.id
    on conflict (queue, dedup_key) do update set message_id = excluded.message_id,
      expires_at = null
    where k.expires_at is not null or k.message_id = excluded.message_id
  )
  insert into {{schema}}.message (id, queue, payload, headers, priority, ordering_key,
                                  dedup_key, visible_at, errors)
  select r.id, r.queue, r.payload, r.headers, r.priority, r.ordering_key, r.dedup_key, now(),
         r.errors
  from revived r;
  get diagnostics n = row_count;
  return n;
end $$;

create function {{schema}}.purge_dead(queue text, ids bigint[] default null) returns integer
language plpgsql as $$
declare
  n integer;
begin
  perform {{schema}}._find_queue(queue);
  delete from {{schema}}.dead_letter d
  where d.queue = purge_dead.queue and (ids is null or d.id = any (ids));
  get diagnostics n = row_count;
  return n;
end $$;

-- ---------------------------------------------------------------------------------------------
-- Stats and upkeep

-- Prunes expired archive rows and dedup keys and folds counter rows. Safe to call from every
-- instance at any time: whoever holds the lock does the work and the others return false.
create function {{schema}}.maintain() returns boolean language plpgsql as $$
begin
  if not pg_try_advisory_xact_lock(hashtextextended('pgbroker.maintain.{{schema}}', 0)) then
    return false;
  end if;
  delete from {{schema}}.archive where expires_at <= now();
  delete from {{schema}}.dedup where expires_at <= now();
  with folded as (
    delete from {{schema}}.counter returning *
  )
  insert into {{schema}}.counter (queue, sent, acked, failed, dead)
  select queue, sum(sent), sum(acked), sum(failed), sum(dead) from folded group by queue;
  return true;
end $$;

create function {{schema}}.stats(queue text)
returns table (ready bigint, delayed bigint, in_flight bigint, dead bigint,
               oldest_ready_age_ms bigint, sent bigint, acked bigint, failed bigint,
               dead_lettered bigint)
language plpgsql stable as $$
#variable_conflict use_column
declare
  q text := ({{schema}}._find_queue(queue)).name;
begin
  return query
  select m.ready, m.delayed, m.in_flight, d.dead, m.oldest_ms, c.sent, c.acked, c.failed, c.dead
  from (
    select count(*) filter (where visible_at <= now()) as ready,
           count(*) filter (where lease is null and visible_at > now()) as delayed,
           count(*) filter (where lease is not null and visible_at > now()) as in_flight,
           (extract(epoch from now() - min(visible_at) filter (where visible_at <= now()))
             * 1000)::bigint as oldest_ms
    from {{schema}}.message m where m.queue = q) m,
  (select count(*) as dead from {{schema}}.dead_letter dl where dl.queue = q) d,
  (select coalesce(sum(c.sent), 0)::bigint as sent,
          coalesce(sum(c.acked), 0)::bigint as acked,
          coalesce(sum(c.failed), 0)::bigint as failed,
          coalesce(sum(c.dead), 0)::bigint as dead
   from {{schema}}.counter c where c.queue = q) c;
end $$;

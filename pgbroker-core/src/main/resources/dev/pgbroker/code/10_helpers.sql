-- ---------------------------------------------------------------------------------------------
-- Helpers. Errors use SQLSTATE PB001 (unknown queue), PB002 (invalid argument) and PB003 (unknown
-- topic) so that every client can tell them apart from database failures.

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

-- Dedup and ordering keys: 1 to 512 characters (Checks.MAX_KEY_CHARS mirrors this); null is
-- no key.
create function {{schema}}._check_key(what text, k text) returns void
language plpgsql immutable as $$
begin
  if k is not null and (length(k) = 0 or length(k) > 512) then
    perform {{schema}}._fail(format('%s must be 1 to 512 characters, was %s characters', what,
      length(k)));
  end if;
end $$;

-- The advisory lock that senders share and delete_queue takes alone (see _find_queue).
create function {{schema}}._queue_lock(q text) returns bigint
language sql immutable as $$
  select hashtextextended('{{schema}}' || chr(30) || q, 0);
$$;

-- The queue's row, or an error naming the unknown queue. Senders pass lock, which keeps a
-- concurrent delete_queue waiting until they commit, so no message outlives its queue. It is a
-- shared advisory lock, not a row lock: a shared row lock held by several transactions at once
-- makes a new MultiXact for each one that joins (a million per million concurrent sends, with
-- ten members each), and MultiXact member space running out stops every write in the database.
create function {{schema}}._find_queue(q text, lock boolean default false)
returns {{schema}}.queue language plpgsql as $$
declare
  r {{schema}}.queue;
begin
  if lock then
    perform pg_advisory_xact_lock_shared({{schema}}._queue_lock(q));
  end if;
  select * into r from {{schema}}.queue where name = q;
  if not found then
    -- (checked only here: a regular expression on every send costs more than the send's insert)
    perform {{schema}}._check_name('queue', q);
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

-- (plpgsql, not sql: PostgreSQL 15 plans a SQL function's insert anew on every call, which cost
-- a one-message send more than its own insert)
create function {{schema}}._count(q text, sent bigint, acked bigint, failed bigint, dead bigint)
returns void language plpgsql as $$
begin
  if sent + acked + failed + dead > 0 then
    insert into {{schema}}.counter (queue, sent, acked, failed, dead)
    values (q, sent, acked, failed, dead);
  end if;
end $$;

-- Reads an explicit retry schedule (backoff_ms: a non-empty array of whole milliseconds from 0
-- to 1e15), or null when absent. Queues and messages share the rule.
create function {{schema}}._backoff_schedule(options jsonb) returns bigint[]
language plpgsql immutable as $$
declare
  v jsonb := options -> 'backoff_ms';
begin
  if v is null or v = 'null' then
    return null;
  end if;
  if jsonb_typeof(v) <> 'array' or jsonb_array_length(v) = 0
     or exists (select 1 from jsonb_array_elements(v) e
                where jsonb_typeof(e) <> 'number' or (e #>> '{}')::numeric < 0
                   or (e #>> '{}')::numeric > 1e15
                   or (e #>> '{}')::numeric <> trunc((e #>> '{}')::numeric)) then
    perform {{schema}}._fail(format('backoff_ms must be a non-empty array of whole numbers '
      'from 0 to 1e15, was %s', v));
  end if;
  return array(select (e #>> '{}')::bigint from jsonb_array_elements(v) e);
end $$;

-- Delay before retry number attempt + 1: the message's own schedule when it has one, else the
-- queue's explicit schedule (the last entry repeats), else exponential backoff with equal jitter.
create function {{schema}}._backoff_ms(q {{schema}}.queue, attempt integer,
                                       schedule bigint[] default null) returns bigint
language sql volatile as $$
  select case
    when schedule is not null then
      schedule[least(greatest(attempt, 1), cardinality(schedule))]
    when q.backoff_ms is not null then
      q.backoff_ms[least(greatest(attempt, 1), cardinality(q.backoff_ms))]
    else (
      with e(ms) as (select least(q.backoff_max_ms::numeric,
                                  q.backoff_base_ms * power(2::numeric, least(attempt, 60) - 1)))
      select (ms / 2 + random() * ms / 2)::bigint from e)
  end;
$$;

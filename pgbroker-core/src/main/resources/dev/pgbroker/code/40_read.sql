-- ---------------------------------------------------------------------------------------------
-- Read: lease deliverable messages.
--
-- Ordering keys. At most one lease per (queue, ordering key) is live at any instant, and a key's
-- messages are leased in id order. Three devices keep that true under every race:
--  * A reader holds the key's advisory lock (pg_try_advisory_xact_lock, never waiting) while it
--    decides, so two readers never decide about one key at once; the statements it runs after
--    taking the lock see every lease committed by whoever held the lock before.
--  * Messages waiting behind a held key are parked: visible_at = 'infinity' takes them out of the
--    fetch index's range, so a stuck key with a long backlog costs other reads nothing.
--  * A reader parks only while holding a FOR SHARE lock on what blocks the key (its live lease,
--    or its earliest message when that is not yet due). Whatever later settles that message must
--    wait for the reader's commit, so its _unpark sees the parked messages and frees the next one.
--  * A reader takes every lease of its keys that ran out (FOR UPDATE SKIP LOCKED) as if it had
--    picked it, and so rewrites it (a new lease, or parked without one); an extend of it that is
--    under way then finds its token gone instead of reviving it beside the new lease. A key with
--    such a lease the reader cannot lock (being extended or settled right now) waits for a
--    later read.
-- A lease may cover a run: the key's next messages in id order, for a consumer that handles them
-- one after another (the worker does; read() leases one message per key). A consumer may name
-- the runs it is still handling (their tokens): a key held by one of them takes the picked
-- messages that come next into that run, under its token, instead of parking them. So a worker
-- starts many keys with short runs and later reads lengthen them, each message written once
-- (parked, it would be written three times: parked, woken, leased).

-- The advisory lock that serialises readers of one key of one queue in this schema.
create function {{schema}}._key_lock(q text, k text) returns bigint
language sql immutable as $$
  select hashtextextended('{{schema}}' || chr(31) || q || chr(31) || k, 0);
$$;

-- The history entry of an attempt whose lease ran out.
create function {{schema}}._expired(attempt integer, at timestamptz) returns jsonb
language sql immutable as $$
  select jsonb_build_object('attempt', attempt, 'at', at,
    'error', 'lease expired: the consumer neither acked nor nacked in time');
$$;

-- Dead-letters (or drops) messages whose lease ran out after their last allowed attempt.
create function {{schema}}._bury_expired(cfg {{schema}}.queue, ids bigint[]) returns void
language sql as $$
  with expired as (
    delete from {{schema}}.message m
    where m.id = any (ids) and m.queue is not distinct from cfg.name -- by id (see 50_settle.sql)
    returning m.*
  ), buried as (
    insert into {{schema}}.dead_letter (id, queue, payload, headers, priority, ordering_key,
                                        dedup_key, attempts, enqueued_at, errors, max_attempts,
                                        backoff_ms)
    select e.id, e.queue, e.payload, e.headers, e.priority, e.ordering_key, e.dedup_key,
           e.attempt, e.enqueued_at,
           e.errors || jsonb_build_array({{schema}}._expired(e.attempt, clock_timestamp())),
           e.max_attempts, e.backoff_ms
    from expired e where cfg.dead_letter
  )
  insert into {{schema}}.counter (queue, failed, dead)
  select cfg.name, count(*), count(*) from expired having count(*) > 0;
$$;

-- A key's first n messages in id order, leased or not (or its unleased ones alone): the two
-- ranges of message_ordering, merged by a sort of at most 2n ids. (Leased or not, "(lease is not
-- null)::int", is spelled as the index spells it, so that the planner matches the two. Each range
-- is ordered by that flag, then id, which only message_ordering yields; ordered by id alone, a
-- table that vacuum last saw empty (reltuples 0, yet pages) was walked along message_pkey for
-- every key: 13 keys' heads of a 20,000-message burst took 166 ms instead of 4.)
create function {{schema}}._key_head(q text, k text, n integer, with_leased boolean default true)
returns table (id bigint, visible_at timestamptz) language sql stable as $$
  select f.id, f.visible_at
  from ((select h.id, h.visible_at from {{schema}}.message h
         where h.queue = q and h.ordering_key = k and (h.lease is not null)::int <= 0
         order by (h.lease is not null)::int, h.id limit n)
        union all
        (select h.id, h.visible_at from {{schema}}.message h
         where with_leased and h.queue = q and h.ordering_key = k
           and (h.lease is not null)::int >= 1
         order by (h.lease is not null)::int, h.id limit n)
        order by 1 limit n) f;
$$;

-- Leases up to max_messages deliverable messages, at most run_max per ordering key (a run of
-- the key's next messages, sharing one lease token; own: the tokens of runs the caller is still
-- handling, each of which may grow by up to run_max messages). Lease expiry counts from this
-- statement on the database clock.
-- Bitmap scans are off: every statement here either walks message_fetch in its order up to a
-- limit or probes by id or key. While the statistics predate a burst of 10,000 messages, the pick
-- was planned as a bitmap of every due message of the queue, sorted: 3.5 ms a read of 500,
-- against 0.6 ms in the index's order. Statements that find messages by id test "due" as
-- "(visible_at <= t) is true", which no index serves, and lock in id order, which message_pkey
-- gives: while vacuum's last look saw the table empty, the planner took message_fetch, walking
-- it whole, as the way to a few ids.
create function {{schema}}._read(q text, max_messages integer, visibility_timeout_ms bigint,
                                 run_max integer, own uuid[] default null)
returns table (id bigint, lease uuid, attempt integer, payload jsonb, headers jsonb,
               enqueued_at timestamptz, priority integer, ordering_key text)
language plpgsql set enable_bitmapscan = off as $$
#variable_conflict use_column
declare
  cfg {{schema}}.queue := {{schema}}._find_queue(q);
  vt bigint := coalesce(visibility_timeout_ms, cfg.visibility_timeout_ms);
  t timestamptz := clock_timestamp();
  plain tid[];       -- picked messages without a key, to lease
  plain_dead bigint[];
  keyed bigint[];    -- picked messages with a key
  keyed_keys text[]; -- their keys, element by element
  keyed_dead bigint[]; -- of those, leases that ran out on their last attempt
  keys text[];       -- their keys whose advisory lock this reader holds (later: those of them
                     -- that have other messages)
  free text[];       -- of those, keys whose run starts or grows now
  alone_run bigint[]; -- picked messages of keys that have no others: leased without more ado
  blockers bigint[]; -- what holds the other locked keys: their live lease or earliest message
  held text[];       -- keys whose blocker this reader could share-lock: their picked ones park
  run bigint[];      -- the messages leased in runs, in key and id order
  took bigint[];     -- run-out leases of its keys this reader took over
  live bigint[];     -- live leases of its keys
  live_keys text[];  -- their keys, element by element
  own_keys text[];   -- keys held by a run the caller named: it may grow
  own_tokens uuid[]; -- that run's token, key by key
  own_last bigint[]; -- and its last message
  rest bigint[];     -- picked messages not leased in a run: they may park
  more bigint[];     -- due messages of free keys, not picked, that could join their runs
  quota integer;     -- most of those per key (a caller that names its runs grows them later)
  widened boolean;   -- whether this round locked those
  salt text;
  got integer;
  total integer := 0;
  key_locks integer := 0;
  rounds integer := 0;
begin
  if max_messages is null or max_messages < 1 or max_messages > 10000 then
    perform {{schema}}._fail(format('max_messages must be between 1 and 10000, was %s',
      coalesce(max_messages::text, 'null')));
  end if;
  if vt <= 0 then
    perform {{schema}}._fail(format('visibility_timeout_ms must be > 0, was %s', vt));
  end if;
  if current_setting('transaction_isolation') <> 'read committed' then
    -- each statement below must see what other readers committed before it began
    perform {{schema}}._fail(format('read needs the read committed isolation level, was %s',
      current_setting('transaction_isolation')));
  end if;

  loop
    held := null;
    own_keys := null; own_tokens := null; own_last := null; -- the lease below reads them
    select array_agg(p.tid) filter (where p.ordering_key is null and not p.exhausted),
           array_agg(p.id) filter (where p.ordering_key is null and p.exhausted),
           array_agg(p.id) filter (where p.ordering_key is not null),
           array_agg(p.ordering_key) filter (where p.ordering_key is not null),
           array_agg(p.id) filter (where p.ordering_key is not null and p.exhausted),
           array_agg(distinct p.ordering_key) filter (where p.ordering_key is not null)
    into plain, plain_dead, keyed, keyed_keys, keyed_dead, keys
    from (select m.id, m.ctid as tid, m.ordering_key,
                 m.lease is not null
                   and m.attempt >= coalesce(m.max_attempts, cfg.max_attempts) as exhausted
          from {{schema}}.message m
          where m.queue = cfg.name and m.visible_at <= t
          order by m.priority desc, m.visible_at, m.id
          limit max_messages - total
          for update skip locked) p;

    if plain_dead is not null then
      perform {{schema}}._bury_expired(cfg, plain_dead);
    end if;
    if plain is not null then
      return query
        update {{schema}}.message m
        set lease = gen_random_uuid(), attempt = m.attempt + 1,
            visible_at = clock_timestamp() + vt * interval '1 millisecond',
            errors = case when m.lease is null then m.errors  -- a lease that ran out is an attempt
                     else m.errors || jsonb_build_array({{schema}}._expired(m.attempt, t)) end
        where m.ctid = any (plain) -- the locked rows cannot move: no index probe
        returning m.id, m.lease, m.attempt, m.payload, m.headers, m.enqueued_at, m.priority,
                  m.ordering_key;
      get diagnostics got = row_count;
      total := total + got;
    end if;
    exit when keyed is null;

    -- At most 512 keys per read: each advisory lock takes a slot in the server's lock table.
    select array_agg(k.k) into keys
    from (select k from unnest(keys) k limit 512 - key_locks) k(k)
    where pg_try_advisory_xact_lock({{schema}}._key_lock(cfg.name, k.k));
    exit when keys is null;
    key_locks := key_locks + cardinality(keys);
    -- A key none of whose messages lies beyond the ones this reader picked (as with a key of one
    -- message) has no lease and nothing before them: those are its run, when they fit in one and
    -- none has used up its attempts. That needs no lease probe nor the state below, which only
    -- the other keys go through. When each picked key was picked once and locked, one scan
    -- counts their messages, stopping at one beyond the picked ones (which it always counts: this
    -- reader holds their row locks): if it finds no more, every key is such a key (a read of 500
    -- over 10,000 keys: 0.8 ms, against 2.0 for a probe per key). Otherwise, one short probe per
    -- key.
    if keyed_dead is null and run_max >= 1 and cardinality(keys) = cardinality(keyed)
       and (select count(*) from (select from {{schema}}.message o
                                  where o.queue = cfg.name and o.ordering_key = any (keys)
                                  limit cardinality(keyed) + 1) o) = cardinality(keyed) then
      alone_run := keyed;
      keys := '{}';
    else
      with picked as (
        select p.k, array_agg(p.id) as ids from unnest(keyed, keyed_keys) p(id, k) group by p.k
      ), alone as (
        select p.k, p.ids from unnest(keys) k(k) join picked p on p.k = k.k
        where keyed_dead is null and cardinality(p.ids) <= run_max
          and (select count(*) = cardinality(p.ids) and bool_and(h.id = any (p.ids))
               from (select h.id from {{schema}}.message h -- in the index's order: one descent
                     where h.queue = cfg.name and h.ordering_key = k.k
                     order by (h.lease is not null)::int, h.id
                     limit cardinality(p.ids) + 1) h)
      )
      select (select array_agg(x) from alone a, unnest(a.ids) x),
             array(select k from unnest(keys) k except select a.k from alone a)
      into alone_run, keys;
    end if;

    free := null;
    blockers := null;
    run := null;
    if cardinality(keys) > 0 then
      -- The keys' other leases, in one probe per key: live ones hold their key; run-out ones
      -- this reader takes over, and a key with one it cannot lock waits for a later read.
      -- (The probe per key is forced, "offset 0" keeping the subquery apart: planned as one scan,
      -- a generic plan walked every lease of the queue, a worker's whole window, testing each
      -- against every key.)
      -- A key held by a run the caller named needs no probe of all its leases: a key's leases
      -- carry one token at a time (whoever leases it first takes over or waits out every lease
      -- that ran out), so its last one tells the token, and where the run ends. (Its leases that
      -- ran out the caller still holds: nobody else can lease the key while the run grows.)
      with mine as materialized (
        select k.k, h.lease as token, h.id as last
        from unnest(case when cardinality(own) > 0 then keys end) k(k),
        lateral (select h.lease, h.id from {{schema}}.message h
                 where h.queue = cfg.name and h.ordering_key = k.k
                   and (h.lease is not null)::int = 1
                 order by (h.lease is not null)::int desc, h.id desc limit 1) h
        where h.lease = any (own)
      ), leased as (
        select h.id, h.ordering_key, h.visible_at <= t as lapsed
        from (select k from unnest(keys) k except select m.k from mine m) k(k),
        lateral (select h.id, h.ordering_key, h.visible_at from {{schema}}.message h
                 where h.queue = cfg.name and h.ordering_key = k.k
                   and (h.lease is not null)::int = 1
                 offset 0) h
        where not h.id = any (keyed)
      ), taken as (
        select h.id, h.ordering_key from {{schema}}.message h
        where h.id = any (array(select l.id from leased l where l.lapsed)) and h.lease is not null
          and h.visible_at <= t
        for update skip locked
      )
      select keyed || array(select t.id from taken t),
             keyed_keys || array(select t.ordering_key from taken t),
             array(select t.id from taken t),
             array(select k from unnest(keys) k
                   where not exists (select 1 from leased l
                                     where l.ordering_key = k and l.lapsed
                                       and l.id not in (select t.id from taken t))),
             array(select l.id from leased l where not l.lapsed),
             array(select l.ordering_key from leased l where not l.lapsed),
             array(select m.k from mine m order by m.k),
             array(select m.token from mine m order by m.k),
             array(select m.last from mine m order by m.k)
      into keyed, keyed_keys, took, keys, live, live_keys, own_keys, own_tokens, own_last;
      if keyed_dead is not null or took <> '{}' then
        perform {{schema}}._bury_expired(cfg, array(
          select m.id from {{schema}}.message m
          where m.id = any (keyed) and m.ordering_key = any (keys)
            and m.lease is not null and m.attempt >= coalesce(m.max_attempts, cfg.max_attempts)));
      end if;

      -- Per key: its live leases, its earliest message, and the run that could start there
      -- (from the earliest on, while the next one is picked or parked; empty when the earliest
      -- is neither, as when it is not due yet). A key with a live lease needs neither, unless
      -- a run the caller named holds it: then its earliest unleased message, and the run that
      -- grows from there (when it cannot, what was picked of the key stays unleased, unparked:
      -- the caller's settles would not wait for this reader to see it parked). Due messages of
      -- a key that this reader did not pick (behind its picked ones, or the earliest itself) it
      -- locks, skipping those another reader holds, and looks again: they join the run at once,
      -- where they would otherwise be picked later only to be parked behind it. A caller that
      -- names its runs gets at most four times max_messages in all this way, so that a burst
      -- over many keys reaches every key in its first reads and later reads grow the runs.
      -- (Each key's whole backlog at once made the last keys of 20,000 messages over 50 keys
      -- wait 0.3 s for four reads of 5,200 rows; without this widening, 10,000 messages over 100
      -- keys took 20 reads of 20-37 ms, against one of 174 ms.)
      quota := case when own is null then run_max
                    else greatest((4 * max_messages - cardinality(keyed))
                                  / greatest(cardinality(keys), 1), 0) end;
      widened := false;
      loop
        exit when cardinality(keys) = 0;
        with picked as (
          select p.k, array_agg(p.id) as ids from unnest(keyed, keyed_keys) p(id, k) group by p.k
        ), busy as (
          select b.k, array_agg(b.id) as ids from unnest(live, live_keys) b(id, k) group by b.k
        ), state as materialized ( -- once per key, not once per use
          select k.k, b.ids as live, o.k is not null as grows, f.first, f.due, f.wait,
                 case when f.first < o.last
                      then null -- a run grows only past its last message (not by a replayed one)
                      when f.stop is null then f.ids
                      when f.stop > f.first
                      then array(select x from unnest(f.ids) x where x < f.stop)
                 end as run
          from unnest(keys) k(k)
          left join busy b on b.k = k.k
          left join unnest(own_keys, own_last) o(k, last) on o.k = k.k
          left join picked p on p.k = k.k
          left join lateral ( -- plain aggregates: a window or a sorted aggregate costs more per key
            -- Picked or not by a join (x.id): "h.id = any (p.ids)" scanned the key's picked ids
            -- for each of its messages, a cost that grows with the square of the run (after
            -- widening, 13 keys of 400 messages: 19 ms of a 100 ms read, 8 ms joined).
            select min(h.id) as first, array_agg(h.id) as ids,
                   min(h.id) filter (where x.id is null and h.visible_at <> 'infinity')
                     as stop, -- where the run ends
                   array_agg(h.id) filter (where h.visible_at <= t and x.id is null)
                     as due, -- not picked
                   min(h.id) filter (where h.visible_at > t and h.visible_at < 'infinity')
                     as wait -- not due: what no lock lets the run pass
            from {{schema}}._key_head(cfg.name, k.k, run_max, o.k is null) h
            left join unnest(p.ids) x(id) on x.id = h.id -- ids picked once each: no row twice
            where b.ids is null) f on true
        )
        select array_agg(s.k) filter (where s.live is null and s.run is not null),
               array_agg(b.id) filter (where b.id is not null),
               (select array_agg(x) from state s2, unnest(s2.run) x where s2.live is null),
               (select array_agg(d.x) from state s3,
                lateral (select x from unnest(s3.due) x where s3.wait is null or x < s3.wait
                         order by x limit quota) d)
        into free, blockers, run, more
        from state s
        left join lateral unnest(case when s.grows then null -- held by the caller's run
                                      when s.live is not null then s.live
                                      when s.run is null then array[s.first] end) b(id) on true;
        exit when more is null or widened;
        select keyed || array_agg(m.id), keyed_keys || array_agg(m.ordering_key)
        into keyed, keyed_keys
        from (select m.id, m.ordering_key from {{schema}}.message m
              where m.id = any (more) and (m.visible_at <= t) is true and m.lease is null
              order by m.id for update skip locked) m; -- by id (see above)
        widened := true;
      end loop;

      if blockers is not null then
        with locked as (
          select m.id, m.ordering_key from {{schema}}.message m
          where m.id = any (blockers) for share skip locked
        ), wanted as (
          select m.ordering_key, count(*) as n from {{schema}}.message m
          where m.id = any (blockers) group by m.ordering_key
        )
        select array_agg(w.ordering_key) into held
        from wanted w
        where w.n = (select count(*) from locked l where l.ordering_key = w.ordering_key);
      end if;
    end if;

    if free is not null or alone_run is not null then
      -- One token per key's run, unguessable through the salt (a run that grows keeps its own);
      -- updating by id keeps this an index probe per message (a join was planned as a scan of
      -- the whole table).
      salt := gen_random_uuid()::text;
      return query
        update {{schema}}.message m
        set lease = coalesce(own_tokens[array_position(own_keys, m.ordering_key)],
                             md5(salt || m.ordering_key)::uuid),
            attempt = m.attempt + 1,
            visible_at = clock_timestamp() + vt * interval '1 millisecond',
            errors = case when m.lease is null then m.errors
                     else m.errors || jsonb_build_array({{schema}}._expired(m.attempt, t)) end
        where m.id = any (alone_run || run)
        returning m.id, m.lease, m.attempt, m.payload, m.headers, m.enqueued_at, m.priority,
                  m.ordering_key;
      get diagnostics got = row_count;
      total := total + got;
    end if;

    -- Picked messages of keys that stay held (or were just leased) wait parked; their expired
    -- leases end here, recorded as an attempt.
    got := 0;
    rest := case when held is not null or free is not null
            then array(select unnest(keyed) except select unnest(alone_run || run)) end;
    if rest <> '{}' then
      update {{schema}}.message m
      set visible_at = 'infinity', lease = null,
          errors = case when m.lease is null then m.errors
                   else m.errors || jsonb_build_array({{schema}}._expired(m.attempt, t)) end
      where m.id = any (rest) and (m.visible_at <= t) is true -- by id (see above)
        and (m.ordering_key = any (held) or m.ordering_key = any (free));
      get diagnostics got = row_count;
    end if;
    rounds := rounds + 1;
    -- Parking freed the fetch path: pick again, so a read never comes back empty merely
    -- because it cleared a held key's backlog out of the way.
    exit when got = 0 or total >= max_messages or rounds = 8 or key_locks >= 512;
  end loop;
end $$;

-- Leases up to max_messages deliverable messages for visibility_timeout_ms (null: the queue's
-- setting), at most one per ordering key.
create function {{schema}}.read(queue text, max_messages integer,
                                visibility_timeout_ms bigint default null)
returns table (id bigint, lease uuid, attempt integer, payload jsonb, headers jsonb,
               enqueued_at timestamptz, priority integer, ordering_key text)
language sql as $$
  select * from {{schema}}._read(queue, max_messages, visibility_timeout_ms, 1);
$$;

-- After settling messages of these keys: where a key has no live lease left and its earliest
-- message is parked, makes that message deliverable now, and notifies workers if it woke any.
-- Returns how many it woke. Keys may repeat (the settles pass one per message): removing
-- duplicates, a sort (0.15 ms for 500 keys), is needed only when the queue has parked messages,
-- and most settles find it has none.
create function {{schema}}._unpark(q text, keys text[]) returns integer
language plpgsql as $$
declare
  n integer;
begin
  if keys is null or cardinality(keys) = 0
     or not exists (select 1 from {{schema}}.message m
                    where m.queue = q and m.visible_at = 'infinity') then
    return 0; -- (message_parked answers the second test in one probe)
  end if;
  -- Back where it stood before it was parked (it was due then), not behind every due message.
  -- (By id alone: a join here was planned as a scan of the whole table for 'infinity', and
  -- "visible_at = 'infinity'" as a condition of message_parked read every parked message.)
  update {{schema}}.message m set visible_at = least(m.enqueued_at, clock_timestamp())
  where m.visible_at is not distinct from 'infinity' and m.id = any (array(
    select (select h.id from {{schema}}._key_head(q, k.k, 1) h)
    from (select distinct k from unnest(keys) k) k
    where not exists (select 1 from {{schema}}.message h
                      where h.queue = q and h.ordering_key = k.k
                        and (h.lease is not null)::int = 1 and h.visible_at > clock_timestamp())));
  get diagnostics n = row_count;
  if n > 0 then
    -- Wake the workers at this commit: a settle that frees a backlog is the only news of it.
    perform pg_notify('{{schema}}', q);
  end if;
  return n;
end $$;

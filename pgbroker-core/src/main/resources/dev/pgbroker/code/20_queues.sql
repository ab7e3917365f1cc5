-- ---------------------------------------------------------------------------------------------
-- Queues

create function {{schema}}.create_queue(queue text, options jsonb default '{}') returns void
language plpgsql as $$
declare
  o jsonb := coalesce(options, '{}');
  backoff bigint[];
  v bigint;
  k text;
  r {{schema}}.queue;
begin
  perform {{schema}}._check_name('queue', queue);
  perform {{schema}}._check_keys('queue option', o, array['visibility_timeout_ms',
    'max_attempts', 'backoff_ms', 'backoff_base_ms', 'backoff_max_ms', 'dead_letter',
    'retention_ms', 'dedup_window_ms', 'max_payload_bytes', 'notify_sql_sends',
    'archive_max_count', 'dead_letter_retention_ms', 'dead_letter_max_count']);
  foreach v in array array[{{schema}}._ms(o, 'visibility_timeout_ms'),
                           {{schema}}._ms(o, 'max_attempts', 2147483647),
                           {{schema}}._ms(o, 'max_payload_bytes', 2147483647)] loop
    if v = 0 then
      perform {{schema}}._fail('visibility_timeout_ms, max_attempts and max_payload_bytes '
        'must be > 0, was 0');
    end if;
  end loop;
  perform {{schema}}._ms(o, 'dead_letter_retention_ms'), {{schema}}._ms(o, 'archive_max_count'),
          {{schema}}._ms(o, 'dead_letter_max_count');
  backoff := {{schema}}._backoff_schedule(o);
  foreach k in array array['dead_letter', 'notify_sql_sends'] loop
    if o ? k and jsonb_typeof(o -> k) <> 'boolean' then
      perform {{schema}}._fail(format('%s must be true or false, was %s', k, o -> k));
    end if;
  end loop;

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
    notify_sql_sends = coalesce((o ->> 'notify_sql_sends')::boolean, t.notify_sql_sends),
    retention_ms = coalesce({{schema}}._ms(o, 'retention_ms'), t.retention_ms),
    dedup_window_ms = coalesce({{schema}}._ms(o, 'dedup_window_ms'), t.dedup_window_ms),
    max_payload_bytes = coalesce({{schema}}._ms(o, 'max_payload_bytes'), t.max_payload_bytes),
    archive_max_count = coalesce({{schema}}._ms(o, 'archive_max_count'), t.archive_max_count),
    dead_letter_retention_ms = coalesce({{schema}}._ms(o, 'dead_letter_retention_ms'),
                                        t.dead_letter_retention_ms),
    dead_letter_max_count = coalesce({{schema}}._ms(o, 'dead_letter_max_count'),
                                     t.dead_letter_max_count)
  where t.name = queue
  returning t.* into r;
  if r.backoff_max_ms < r.backoff_base_ms then
    perform {{schema}}._fail(format('backoff_max_ms must be >= backoff_base_ms (%s), was %s',
      r.backoff_base_ms, r.backoff_max_ms));
  end if;
end $$;

-- Waits for the senders holding the queue's lock (see _find_queue) and keeps new ones out, so
-- the message delete sees every message they committed. Subscriptions and schedules of the queue
-- go by their foreign keys; the busy tables have none (migration 010).
create function {{schema}}.delete_queue(queue text) returns boolean
language plpgsql as $$
declare
  existed boolean;
begin
  perform {{schema}}._check_name('queue', queue);
  perform pg_advisory_xact_lock({{schema}}._queue_lock(queue));
  delete from {{schema}}.queue q where q.name = delete_queue.queue;
  existed := found;
  delete from {{schema}}.message m where m.queue = delete_queue.queue;
  delete from {{schema}}.dead_letter d where d.queue = delete_queue.queue;
  delete from {{schema}}.archive a where a.queue = delete_queue.queue;
  delete from {{schema}}.dedup d where d.queue = delete_queue.queue;
  delete from {{schema}}.counter c where c.queue = delete_queue.queue;
  return existed;
end $$;


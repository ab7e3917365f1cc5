-- Version 7: recurring schedules. Each tick sends one message to a queue; the tick table's
-- primary key makes a second message for the same tick impossible, whoever fires it.

create table {{schema}}.schedule (
  name        text primary key,
  queue       text not null references {{schema}}.queue (name) on delete cascade,
  cron        text,                              -- 5 fields, or 6 with seconds first
  time_zone   text not null default 'UTC',       -- the zone cron fields are read in
  every_ms    bigint,                            -- fixed interval instead of cron, >= 1 s
  payload     jsonb not null default '{}',
  options     jsonb not null default '{}',       -- send options of each tick's message
  catch_up    integer not null default 0,        -- most missed ticks sent after a downtime
  paused      boolean not null default false,
  next_at     timestamptz not null,              -- the next tick to send
  last_at     timestamptz,                       -- the last tick sent
  created_at  timestamptz not null default now(),
  check ((cron is null) <> (every_ms is null)),
  check (every_ms is null or every_ms >= 1000),
  check (catch_up >= 0)
);
create index schedule_due on {{schema}}.schedule (next_at) where not paused;

create table {{schema}}.schedule_tick (
  schedule   text not null references {{schema}}.schedule (name) on delete cascade,
  tick_at    timestamptz not null,
  message_id bigint,                             -- set once the tick's message is sent
  sent_at    timestamptz not null default clock_timestamp(),
  primary key (schedule, tick_at)
);

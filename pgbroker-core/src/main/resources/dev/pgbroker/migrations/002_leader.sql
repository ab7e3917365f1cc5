-- Version 2: the lease row of the instance that runs the leader's services (maintenance,
-- vacuum, and later schedules): at most one row, held until expires_at unless renewed.

create table {{schema}}.leader (
  one        boolean primary key default true check (one),
  holder     text not null,
  expires_at timestamptz not null
);

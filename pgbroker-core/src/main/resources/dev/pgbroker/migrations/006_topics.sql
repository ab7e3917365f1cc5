-- Version 6: topics and their subscriptions. A subscription is a queue of its own that receives a
-- copy of every message published to its topic (that passes its filter) after it was made.

create table {{schema}}.topic (
  name       text primary key,
  created_at timestamptz not null default now()
);

-- filter: header name -> array of accepted values; a copy is made when every named header holds
-- one of its values ('{}' accepts everything). The message type is the header "type".
create table {{schema}}.subscription (
  queue      text primary key references {{schema}}.queue (name) on delete cascade,
  topic      text not null references {{schema}}.topic (name) on delete cascade,
  filter     jsonb not null default '{}',
  created_at timestamptz not null default now()
);
create index subscription_topic on {{schema}}.subscription (topic, queue);

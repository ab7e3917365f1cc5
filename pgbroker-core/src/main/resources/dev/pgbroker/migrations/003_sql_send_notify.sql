-- Version 3: whether sends made through the SQL API wake workers with a NOTIFY in their own
-- transaction (Java sends notify after commit instead and ignore this).

alter table {{schema}}.queue add column notify_sql_sends boolean not null default true;

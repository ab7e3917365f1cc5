-- Version 5: the messages parked behind a held ordering key, so a settle can tell in one probe
-- whether a queue has any to wake (most settles of most queues have none).

create index message_parked on {{schema}}.message (queue, ordering_key, id)
  where visible_at = 'infinity';

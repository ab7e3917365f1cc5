-- Version 11: a key's messages in two indexes that never hold the same row version, its unleased
-- ones and its leased ones. Before, one index held all of them and the other the leased ones
-- again, so every keyed lease wrote an entry into both: a quarter of a keyed lease's index
-- writes. A key's first messages in id order are now the two ranges merged (_key_head).

drop index {{schema}}.message_ordering;
drop index {{schema}}.message_ordering_leased;
create index message_ordering on {{schema}}.message (queue, ordering_key, id)
  where ordering_key is not null and lease is null;
create index message_ordering_leased on {{schema}}.message (queue, ordering_key, id)
  where ordering_key is not null and lease is not null;

-- Version 12: a key's messages in one index again, leased ones apart within it by an integer
-- column, so that the probe for a key with no message but the ones a read picked descends once
-- instead of into two indexes (a keyed read of 500 over 10,000 keys: 8.3-8.7 -> 7.6-8.0 ms). A
-- keyed lease still writes three index entries: the primary key's, message_fetch's and this one's.
-- An integer, not a boolean: the planner estimates "= 1" from the index's statistics, where it
-- took a boolean column's condition for half the key and scanned the table for a held key's
-- lease (tried, not kept).

drop index {{schema}}.message_ordering;
drop index {{schema}}.message_ordering_leased;
create index message_ordering on {{schema}}.message
  (queue, ordering_key, ((lease is not null)::int), id) where ordering_key is not null;

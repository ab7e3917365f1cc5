-- Version 10: no foreign keys from busy tables to the queue row. Each insert checked by one takes
-- a shared lock on the queue's row, and concurrent ones make a MultiXact each (16 concurrent dedup
-- sends: 15,944 per 16,000). delete_queue, which holds the queue's lock alone, deletes these rows
-- itself.

alter table {{schema}}.dedup drop constraint dedup_queue_fkey;
alter table {{schema}}.dead_letter drop constraint dead_letter_queue_fkey;
alter table {{schema}}.archive drop constraint archive_queue_fkey;

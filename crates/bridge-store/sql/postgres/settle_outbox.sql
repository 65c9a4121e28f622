UPDATE event_logs SET status = x.status, last_error = x.error,
locked_until = NULL,
sent_at = CASE WHEN x.status = 'sent' THEN now() ELSE sent_at END
FROM UNNEST($1::int8[], $2::text[], $3::text[]) AS x(seq, status, error)
WHERE event_logs.seq = x.seq

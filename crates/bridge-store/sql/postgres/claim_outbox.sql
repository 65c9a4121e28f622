UPDATE event_logs SET locked_until = now() + make_interval(secs => $2),
attempts = attempts + 1
WHERE seq IN (SELECT seq FROM event_logs WHERE status = 'pending'
AND (locked_until IS NULL OR locked_until < now())
ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
RETURNING seq, event_id, event_type, topic, message_key, payload, attempts

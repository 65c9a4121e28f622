UPDATE event_logs SET locked_until = ?1, attempts = attempts + 1
WHERE seq IN (SELECT seq FROM event_logs WHERE status = 'pending'
AND (locked_until IS NULL OR locked_until < ?2) ORDER BY seq LIMIT ?3)
RETURNING seq, event_id, event_type, topic, message_key, payload, attempts

INSERT INTO fsm_transitions (workflow_id, position, from_state, to_state, reason,
created_at)
SELECT * FROM UNNEST($1::uuid[], $2::int4[], $3::text[], $4::text[], $5::text[],
$6::timestamptz[])

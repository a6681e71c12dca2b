-- Filter columns: every column of an n2 index after the vector is a filter
-- key stored in the index (src/filter.c).  Strategies: 1 <, 2 <=, 3 =, 4 >=,
-- 5 >, 6 <>, 7 && (overlaps), 8 @> (contains).  The classes have no support
-- function: the column's type says how its keys are stored.

CREATE OPERATOR FAMILY integer_ops USING n2;

CREATE OPERATOR CLASS int2_ops
	DEFAULT FOR TYPE int2 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int2, int2), OPERATOR 2 <= (int2, int2),
	OPERATOR 3 = (int2, int2), OPERATOR 4 >= (int2, int2),
	OPERATOR 5 > (int2, int2), OPERATOR 6 <> (int2, int2);

CREATE OPERATOR CLASS int4_ops
	DEFAULT FOR TYPE int4 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int4, int4), OPERATOR 2 <= (int4, int4),
	OPERATOR 3 = (int4, int4), OPERATOR 4 >= (int4, int4),
	OPERATOR 5 > (int4, int4), OPERATOR 6 <> (int4, int4);

CREATE OPERATOR CLASS int8_ops
	DEFAULT FOR TYPE int8 USING n2 FAMILY integer_ops AS
	OPERATOR 1 < (int8, int8), OPERATOR 2 <= (int8, int8),
	OPERATOR 3 = (int8, int8), OPERATOR 4 >= (int8, int8),
	OPERATOR 5 > (int8, int8), OPERATOR 6 <> (int8, int8);

-- Comparisons across integer widths (smallint_column = 5 compares with int4).
ALTER OPERATOR FAMILY integer_ops USING n2 ADD
	OPERATOR 1 < (int2, int4), OPERATOR 2 <= (int2, int4),
	OPERATOR 3 = (int2, int4), OPERATOR 4 >= (int2, int4),
	OPERATOR 5 > (int2, int4), OPERATOR 6 <> (int2, int4),
	OPERATOR 1 < (int2, int8), OPERATOR 2 <= (int2, int8),
	OPERATOR 3 = (int2, int8), OPERATOR 4 >= (int2, int8),
	OPERATOR 5 > (int2, int8), OPERATOR 6 <> (int2, int8),
	OPERATOR 1 < (int4, int2), OPERATOR 2 <= (int4, int2),
	OPERATOR 3 = (int4, int2), OPERATOR 4 >= (int4, int2),
	OPERATOR 5 > (int4, int2), OPERATOR 6 <> (int4, int2),
	OPERATOR 1 < (int4, int8), OPERATOR 2 <= (int4, int8),
	OPERATOR 3 = (int4, int8), OPERATOR 4 >= (int4, int8),
	OPERATOR 5 > (int4, int8), OPERATOR 6 <> (int4, int8),
	OPERATOR 1 < (int8, int2), OPERATOR 2 <= (int8, int2),
	OPERATOR 3 = (int8, int2), OPERATOR 4 >= (int8, int2),
	OPERATOR 5 > (int8, int2), OPERATOR 6 <> (int8, int2),
	OPERATOR 1 < (int8, int4), OPERATOR 2 <= (int8, int4),
	OPERATOR 3 = (int8, int4), OPERATOR 4 >= (int8, int4),
	OPERATOR 5 > (int8, int4), OPERATOR 6 <> (int8, int4);

CREATE OPERATOR CLASS bool_ops
	DEFAULT FOR TYPE bool USING n2 AS
	OPERATOR 3 = (bool, bool), OPERATOR 6 <> (bool, bool);

CREATE OPERATOR CLASS text_ops
	DEFAULT FOR TYPE text USING n2 AS
	OPERATOR 3 = (text, text), OPERATOR 6 <> (text, text);

CREATE OPERATOR CLASS uuid_ops
	DEFAULT FOR TYPE uuid USING n2 AS
	OPERATOR 3 = (uuid, uuid), OPERATOR 6 <> (uuid, uuid);

-- Label sets.
CREATE OPERATOR CLASS int2_array_ops
	DEFAULT FOR TYPE int2[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS int4_array_ops
	DEFAULT FOR TYPE int4[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS int8_array_ops
	DEFAULT FOR TYPE int8[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

CREATE OPERATOR CLASS text_array_ops
	DEFAULT FOR TYPE text[] USING n2 AS
	OPERATOR 7 && (anyarray, anyarray), OPERATOR 8 @> (anyarray, anyarray);

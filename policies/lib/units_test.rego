# Tests of the duration formatting used by perf messages: three significant digits, unit that fits.
package readiness.lib_test

import data.readiness.lib
import rego.v1

test_duration_microseconds if {
	lib.duration_ms(0.0332) == "33.2 µs"
	lib.duration_ms(0.033) == "33.0 µs"
	lib.duration_ms(0.00005) == "0.050 µs"
}

test_duration_milliseconds if {
	lib.duration_ms(87.4) == "87.4 ms"
	lib.duration_ms(48) == "48.0 ms"
	lib.duration_ms(134.2) == "134 ms"
	lib.duration_ms(1) == "1.00 ms"
	lib.duration_ms(0) == "0 ms"
}

test_duration_seconds if {
	lib.duration_ms(1234) == "1.23 s"
	lib.duration_ms(1234567) == "1235 s"
}

test_duration_rounding_moves_to_the_next_unit if {
	lib.duration_ms(999.7) == "1.00 s"
	lib.duration_ms(0.99996) == "1.00 ms"
	lib.duration_ms(9.996) == "10.0 ms"
}

test_durations_that_print_alike_show_raw_values if {
	lib.durations_ms(100.04, 100) == ["100.04 ms", "100 ms"]
	lib.durations_ms(89.74, 88) == ["89.7 ms", "88.0 ms"]
}

test_negative_and_non_numeric_durations_have_no_text if {
	not lib.duration_ms(-1)
	not lib.duration_ms(-0.0001)
	lib.durations_ms(-1, 5) == ["-1 ms", "5 ms"]
}

# The number of decimals is chosen at each step's boundary on the value itself (the else-chain of
# _sig3): 3 below 0.9995, 2 below 9.995, 1 below 99.95, none from there on.
test_duration_decimals_change_at_each_step if {
	lib.duration_ms(0.00049999) == "0.500 µs"
	lib.duration_ms(0.00099949) == "0.999 µs"
	lib.duration_ms(0.0009995) == "1.00 µs"
	lib.duration_ms(0.0099949) == "9.99 µs"
	lib.duration_ms(0.009995) == "10.0 µs"
	lib.duration_ms(0.099949) == "99.9 µs"
	lib.duration_ms(0.09995) == "100 µs"
	lib.duration_ms(9.9949) == "9.99 ms"
	lib.duration_ms(99.949) == "99.9 ms"
	lib.duration_ms(99.95) == "100 ms"
	lib.duration_ms(0.0000004) == "0.000 µs"
}

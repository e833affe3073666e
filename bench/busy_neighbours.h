// Busy neighbours for the under-load rows: child processes that spin on a core each
// while the benchmarks run, as another tenant of a shared server would.
#pragma once

namespace rb {

// Starts n spinning child processes (0: none). They end with this process.
void start_busy_neighbours(int n);
// How many were asked for (for the benchmark context).
int busy_neighbours();

} // namespace rb

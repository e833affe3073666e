/*
 * The tsan lane's canary: a real data race between the threads of an OpenMP region,
 * which ThreadSanitizer must report (the test is registered with should_fail) with the
 * lane's suppressions (tests/threads/tsan.supp) and libarcher in place. If this test
 * "passes", the suppressions or the OpenMP setup hide races and the lane proves nothing.
 */
#include <stdio.h>

static int counter;

int main(void)
{
#pragma omp parallel num_threads(2)
    {
        counter++; /* unsynchronised read-modify-write from both threads */
    }
    printf("counter %d\n", counter);
    return 0;
}

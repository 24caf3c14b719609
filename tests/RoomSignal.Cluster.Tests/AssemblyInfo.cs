// Cluster tests start Redis servers and node processes and measure failure-detection deadlines; on a
// 2-core machine they run one at a time so that one test's load does not eat another's deadline.
[assembly: CollectionBehavior(DisableTestParallelization = true)]

//! The report generators (create-report, -txt, -html, broken graph, compute-packages).

// The tests run beside a Rust build and a browser on a 2-core machine: give waitFor/findBy
// five seconds instead of one before a slow render counts as a failure.
import { configure } from "@testing-library/dom";

configure({ asyncUtilTimeout: 5000 });

mod sim;
fn main() {}

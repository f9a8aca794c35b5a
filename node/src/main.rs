fn main() -> eyre::Result<()> {
    backstop_node::cli::main()
}

/* Native entry point of the C runtime test (the unikernel's is Rust). */
int corten_c_main(const char *which);

int main(int argc, char **argv)
{
    return corten_c_main(argc > 1 ? argv[1] : "");
}

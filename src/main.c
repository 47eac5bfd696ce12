// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
int cli__main(int argc, char **argv);

int main(int argc, char **argv)
{
	return cli__main(argc, argv);
}

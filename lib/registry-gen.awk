# registry-gen.awk: cmd/commands.txt -> build/registry.c (see lib/registry.h)
# Input lines: NAME GROUP read|write SUMMARY...   ('#' starts a comment line)
BEGIN {
	print "/* generated from cmd/commands.txt by lib/registry-gen.awk: do not edit */"
	print "#include <string.h>"
	print "#include \"registry.h\""
	print "const struct xo_command xo_commands[] = {"
}
/^[ \t]*(#|$)/ { next }
{
	if ($3 != "read" && $3 != "write") {
		printf "commands.txt:%d: third field must be read or write\n", NR > "/dev/stderr"
		exit 1
	}
	summary = $0
	sub(/^[ \t]*[^ \t]+[ \t]+[^ \t]+[ \t]+[^ \t]+[ \t]+/, "", summary)
	gsub(/\\/, "\\\\", summary); gsub(/"/, "\\\"", summary)
	printf "\t{ \"%s\", \"%s\", %s, \"%s\" },\n", $1, $2, ($3 == "write" ? "true" : "false"), summary
}
END {
	print "\t{ NULL, NULL, false, NULL },"
	print "};"
	print ""
	print "const struct xo_command *xo_command_find(const char *name)"
	print "{"
	print "\tfor (const struct xo_command *c = xo_commands; c->name; c++)"
	print "\t\tif (strcmp(c->name, name) == 0)"
	print "\t\t\treturn c;"
	print "\treturn NULL;"
	print "}"
}

# Turns a text file into a C string constant (pcp_schema_sql) without shell tools.
file(READ ${IN} content HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," content "${content}")
file(WRITE ${OUT} "/* generated from schema.sql */\nconst char pcp_schema_sql[] = {${content}0x00};\n")

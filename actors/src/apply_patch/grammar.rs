//! This file holds the texts that offer `apply_patch` to the model: a Lark grammar of
//! the patch language, for a freeform "custom" tool on the Responses API, and a short
//! description of the tool and its format.

/// The Lark grammar of the patch language, for a freeform custom tool.
pub const LARK_GRAMMAR: &str = r#"start: begin_patch hunk+ end_patch

begin_patch: "*** Begin Patch" LF
end_patch: "*** End Patch" LF?

hunk: add_hunk | delete_hunk | update_hunk

add_hunk: "*** Add File: " TEXT LF add_line*
add_line: "+" TEXT? LF

delete_hunk: "*** Delete File: " TEXT LF

update_hunk: "*** Update File: " TEXT LF move_to? change+
move_to: "*** Move to: " TEXT LF
change: change_header change_line+ end_of_file?
change_header: ("@@" | "@@ " TEXT) LF
change_line: ("+" | "-" | " ") TEXT? LF
end_of_file: "*** End of File" LF

TEXT: /[^\r\n]+/

%import common.LF
"#;

/// A short description of the tool and its patch format, for the model.
pub const TOOL_DESCRIPTION: &str = r#"Edit files by sending a patch. The patch is plain text in this format:

*** Begin Patch
*** Add File: path/to/new_file.txt
+every line of the new file, each starting with +
*** Delete File: path/to/obsolete.txt
*** Update File: path/to/existing.py
*** Move to: path/to/renamed.py
@@ def some_function():
     unchanged line, starting with a space
-    line to remove
+    line to add
*** End Patch

Rules:
- A patch holds one or more file sections: Add File, Delete File or Update File. Paths are relative to the working directory.
- An Update File section may rename the file with a "*** Move to:" line right after its header.
- Each change in an Update File section starts with "@@". Put a distinctive line (such as the enclosing function or class) after "@@ " to say where the change is; it is searched for first.
- In a change, lines starting with a space are unchanged context, "-" lines are removed and "+" lines are added. Show about three lines of context above and below each edit, and enough to make the place unique.
- Changes to one file are applied top to bottom. End a change with "*** End of File" when it must match the end of the file.
- Adding a file that exists replaces it. If any change does not match, nothing is written and the error says which file and lines failed.
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar_names_every_marker() {
        for marker in [
            "*** Begin Patch",
            "*** End Patch",
            "*** Add File: ",
            "*** Delete File: ",
            "*** Update File: ",
            "*** Move to: ",
            "*** End of File",
            "\"@@\"",
            "\"@@ \"",
        ] {
            assert!(LARK_GRAMMAR.contains(marker), "{marker} is missing");
            assert!(
                TOOL_DESCRIPTION.contains(marker.trim_matches('"').trim()),
                "{marker} is not described"
            );
        }
    }
}

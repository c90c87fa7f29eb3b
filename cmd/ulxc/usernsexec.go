package main

import "errors"

func cmdUsernsexec(e *env, args []string) error { return errors.New("usernsexec: not built yet") }

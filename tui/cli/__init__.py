"""The command line (click): show, set, doctor, export, test and the OpenHands 1.x commands."""
